"""Prometheus metrics: ``GET /metrics``.

Counters and histograms (HTTP latency, run and stage durations, sandbox outcomes, recoveries) live in this
process; under gunicorn with several workers set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory so that
every worker writes there and a scrape of any worker sums them all (prometheus-client's multiprocess mode).
The state of the queue (runs by status, queue depth, age of the oldest queued run) is read from the database
at each scrape, so it is the same whichever process answers.
"""
from __future__ import annotations

import os
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from modelwatch.run_status import RunStatus

CONTENT_TYPE = CONTENT_TYPE_LATEST
_RUN_BUCKETS = (1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600)

HTTP_SECONDS = Histogram("modelwatch_http_request_duration_seconds", "HTTP request latency",
                         ["method", "route", "status"])
RUN_SECONDS = Histogram("modelwatch_run_duration_seconds", "Wall time of a run, from start to outcome",
                        ["status"], buckets=_RUN_BUCKETS)
STAGE_SECONDS = Histogram("modelwatch_stage_duration_seconds", "Wall time of one stage of a run", ["stage"],
                          buckets=_RUN_BUCKETS)
SANDBOX_OUTCOMES = Counter("modelwatch_sandbox_outcomes_total", "How sandboxed suite tasks ended", ["outcome"])
RECOVERIES = Counter("modelwatch_recoveries_total", "Runs re-queued, re-dispatched or failed by recovery",
                     ["action"])


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_SECONDS.labels(method, route, str(status)).observe(seconds)


def run_finished(status: str, seconds: float) -> None:
    RUN_SECONDS.labels(status).observe(seconds)


def stage_finished(stage: str, seconds: float) -> None:
    STAGE_SECONDS.labels(stage.split(":")[0][:40]).observe(seconds)


def sandbox_outcome(outcome: str) -> None:
    SANDBOX_OUTCOMES.labels(outcome).inc()


def recovered(action: str, count: int = 1) -> None:
    if count:
        RECOVERIES.labels(action).inc(count)


class QueueCollector:
    """Runs by status, queue depth and the oldest queued run's age, read from the database when scraped."""

    def __init__(self, counts: dict[str, int], oldest_queued: datetime | None, now: datetime) -> None:
        self.counts, self.oldest, self.now = counts, oldest_queued, now

    def collect(self):
        by_status = GaugeMetricFamily("modelwatch_runs", "Runs in the database by status", labels=["status"])
        for status in RunStatus:
            by_status.add_metric([status], self.counts.get(status, 0))
        yield by_status
        yield GaugeMetricFamily("modelwatch_queue_depth", "Runs waiting for a worker",
                                value=self.counts.get(RunStatus.QUEUED, 0))
        age = (self.now - self.oldest).total_seconds() if self.oldest else 0.0
        yield GaugeMetricFamily("modelwatch_queue_oldest_age_seconds", "Age of the oldest queued run", value=age)


def exposition(counts: dict[str, int], oldest_queued: datetime | None, now: datetime) -> bytes:
    """The text format: this process's (or all processes') metrics, then the queue's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        process = CollectorRegistry()
        MultiProcessCollector(process)
    else:
        process = REGISTRY
    queue = CollectorRegistry()
    queue.register(QueueCollector(counts, oldest_queued, now))
    return generate_latest(process) + generate_latest(queue)
