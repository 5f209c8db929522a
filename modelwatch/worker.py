"""The Celery app of the run workers: ``celery -A modelwatch.worker worker`` (broker: ``MODELWATCH_BROKER_URL``).

Importing this module builds no Flask app. Each worker process builds its own on its first task, after
Celery has forked it, from the same environment as the web process (``DATABASE_URL``...): a database pool
or the sandbox's warm worker is never shared across a fork. This is the Flask docs' factory pattern
(tasks run inside ``app.app_context()``) with the app made lazily instead of at import.
"""
from __future__ import annotations

import os
import threading

from celery import Celery
from celery.signals import worker_process_init
from flask import Flask

from modelwatch.services.executor import CELERY_TASK

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def make_celery(broker_url: str) -> Celery:
    """A Celery app on ``broker_url`` with the settings runs need; the web process uses it to send tasks."""
    celery_app = Celery("modelwatch", broker=broker_url, set_as_current=False)
    celery_app.conf.update(
        task_ignore_result=True,  # the Run row is the result; no result backend
        task_default_queue="modelwatch",
        # One run at a time per worker process, taken only when it is free, so N workers share a burst evenly.
        worker_prefetch_multiplier=1,
        # Acknowledged after it ran, but a worker process killed under a run does not get it redelivered:
        # a model that crashes its worker must not crash the next one; recovery fails the run instead.
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        worker_hijack_root_logger=False,
    )
    return celery_app


celery = make_celery(os.environ.get("MODELWATCH_BROKER_URL") or DEFAULT_BROKER)
app = celery  # the name ``celery -A modelwatch.worker`` looks for

_flask: dict[int, Flask] = {}
_flask_lock = threading.Lock()


def flask_app() -> Flask:
    """This worker process's Flask app, built on first use (never at import, never before the fork)."""
    pid = os.getpid()
    with _flask_lock:
        if pid not in _flask:
            from modelwatch.app import create_app
            from modelwatch.config import from_environment
            from modelwatch.services.recovery import start_janitor

            config = from_environment()
            config.DASHBOARD = False  # a worker serves no pages
            built = create_app(config)
            start_janitor(built)
            _flask.clear()
            _flask[pid] = built
        return _flask[pid]


@worker_process_init.connect
def _warm_up(**_kwargs) -> None:
    """Right after the fork: build this process's app and start the sandbox's warm worker before a task waits."""
    from modelwatch.core.sandbox import warm_up

    flask_app()
    warm_up(wait=False)


@celery.task(name=CELERY_TASK)
def execute_run_task(run_id: str) -> None:
    """Execute one queued run (a run already claimed, cancelled or deleted is skipped)."""
    from modelwatch.services.runs import execute_run

    with flask_app().app_context():
        execute_run(run_id)
