"""The adaptive latency timer on fake workloads timed by a fake clock: nothing here depends on the machine's speed."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm

from modelwatch.core.checks import performance
from modelwatch.core.results.jsonable import to_jsonable
from tests.core.suite_context import make_context


class FakeClock:
    """A clock that only moves when the fake workload says a call took so long."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def timed(durations, budget_s: float, precision: float | None = 0.05) -> tuple[performance.Timing, float]:
    """Time a workload whose calls take ``durations()`` seconds each; returns the timing and the clock's end."""
    clock = FakeClock()

    def predict(X):
        clock.now += durations()

    return performance.time_until(predict, None, budget_s, precision, clock=clock), clock.now


def test_a_constant_time_workload_stops_as_soon_as_the_p95_interval_exists():
    timing, elapsed = timed(lambda: 0.001, budget_s=2.0)
    assert timing.stopped_by == "precision"
    # the p95's distribution-free interval needs 72 calls at 95%: the first check comes right then
    assert performance.fewest_bounded_calls() == 72 and timing.seconds.size == 72
    assert elapsed < 0.1 * 2.0
    assert performance.relative_precision(timing.seconds) == 0.0


def test_a_noisy_workload_keeps_its_whole_budget():
    rng = np.random.default_rng(0)
    timing, elapsed = timed(lambda: rng.lognormal(np.log(0.001), 1.0), budget_s=1.0)
    assert timing.stopped_by == "budget"
    assert elapsed >= 1.0 and timing.seconds.sum() >= 1.0 - 0.01
    assert performance.relative_precision(timing.seconds) > 0.05


def test_a_slow_model_keeps_todays_budget_and_call_floor():
    timing, elapsed = timed(lambda: 0.5, budget_s=2.0)  # 72 calls would take 36 s: the p95 stays unbounded
    assert timing.stopped_by == "budget" and timing.seconds.size == performance.MIN_CALLS
    assert elapsed == 0.5 * (1 + performance.MIN_CALLS)  # one warm-up call (more would not be cheap), 5 timed
    assert performance.precision_summary(timing, 0.05)["p95_ci"] is None


def test_without_a_precision_target_the_first_call_sizes_the_run():
    timing, _ = timed(lambda: 2.0 ** -10, budget_s=0.5, precision=None)  # exact binary fractions
    assert timing.stopped_by == "calls" and timing.seconds.size == 512


def test_too_few_calls_give_no_p95_interval():
    seconds = np.full(71, 0.002)  # 72 calls are the fewest that bound the p95 at 95%
    assert performance.quantile_interval(np.full(72, 0.002), 0.95) == (0.002, 0.002)
    assert performance.quantile_interval(seconds, 0.95) is None
    assert performance.quantile_interval(seconds, 0.5) == (0.002, 0.002)
    assert performance.relative_precision(seconds) == float("inf")


@pytest.mark.parametrize("sigma", [0.05, 0.2])
def test_the_reported_intervals_cover_the_true_percentiles(sigma):
    """Lognormal call times with known percentiles: the stated 95% intervals cover them in ~95% of timings."""
    runs, covered, precisions = 200, {0.5: 0, 0.95: 0}, []
    for seed in range(runs):
        draw = np.random.default_rng(seed).lognormal
        timing, _ = timed(lambda draw=draw: draw(np.log(0.001), sigma), budget_s=2.0)
        assert timing.stopped_by == "precision"
        fields = performance.precision_summary(timing, 0.05)
        precisions.append(fields["precision"])
        for q in (0.5, 0.95):
            low, high = fields[f"p{round(q * 100)}_ci"]
            covered[q] += low <= 1000 * 0.001 * np.exp(sigma * norm.ppf(q)) <= high
    assert max(precisions) <= 0.05
    for q, hits in covered.items():
        assert hits / runs >= 0.90, (q, hits)  # nominal 0.95; 0.90 is 3.2 binomial standard errors below


def test_compute_reports_the_precision_beside_the_percentiles(frame_logistic, cancer):
    ctx = make_context(frame_logistic, cancer[0].head(200))
    section = json.loads(json.dumps(to_jsonable(performance.compute(ctx)), allow_nan=False))
    budget = section["latency_budget"]
    assert budget["precision_target"] == performance.LATENCY_PRECISION and budget["confidence"] == 0.95
    assert budget["per_batch_size_s"] == pytest.approx(0.3 / 3)
    for stats in section["latency_ms"].values():
        assert stats["stopped_by"] in ("precision", "budget", "calls")
        if stats["stopped_by"] == "precision":
            assert stats["precision"] <= performance.LATENCY_PRECISION
        if stats["p95_ci"] is not None:
            assert stats["p95_ci"][0] <= stats["p95_ci"][1] and stats["p50_ci"][0] <= stats["p50"] <= stats["p50_ci"][1]
