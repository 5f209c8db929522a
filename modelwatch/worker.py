"""The Celery app of the run workers: ``celery -A modelwatch.worker worker`` (broker: ``MODELWATCH_BROKER_URL``).

Importing this module builds no Flask app. Each pool process builds its own after the fork, from the same
environment as the web process (``DATABASE_URL``...), so a database pool or the sandbox's warm worker is
never shared across a fork. The build runs in a background thread started by ``worker_process_init``: the
pool process reports UP at once (Celery kills one that is silent for ``worker_proc_alive_timeout``, raised
here too), and its first task waits for the build instead.

Delivery: acknowledged late and rejected (so redelivered) when the pool process dies under it. That is an
infrastructure loss, never the model's doing (the model runs in a sandboxed child): the row's claim makes a
redelivered or re-sent message harmless, and recovery bounds the retries (``RUN_MAX_ATTEMPTS``). A task ends
in Celery's FAILURE state when its run failed, so Flower and the logs agree with the run table.
"""
from __future__ import annotations

import os
import threading

from celery import Celery
from celery.exceptions import Ignore
from celery.signals import worker_process_init
from flask import Flask

from modelwatch.services.executor import CELERY_TASK

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


class RunFailed(Exception):
    """The run ended ``failed``: the task's state says so too."""


def make_celery(broker_url: str) -> Celery:
    """A Celery app on ``broker_url`` with the settings runs need; the web process uses it to send tasks."""
    celery_app = Celery("modelwatch", broker=broker_url, set_as_current=False)
    celery_app.conf.update(
        task_ignore_result=True,  # the Run row is the result; no result backend
        task_default_queue="modelwatch",
        # One run at a time per worker process, taken only when it is free, so N workers share a burst evenly.
        worker_prefetch_multiplier=1,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_proc_alive_timeout=float(os.environ.get("MODELWATCH_PROC_ALIVE_TIMEOUT_S", "60")),
        worker_max_memory_per_child=int(os.environ.get("MODELWATCH_WORKER_MAX_MEMORY_KB", str(1024 * 1024))),
        worker_cancel_long_running_tasks_on_connection_loss=False,  # the row's claim guards a redelivery
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a Redis restart is waited out, not fatal
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
            from modelwatch.services.executor import start_background

            config = from_environment()
            config.DASHBOARD = False  # a worker serves no pages
            built = create_app(config)
            start_background(built)
            _flask.clear()
            _flask[pid] = built
        return _flask[pid]


def _warm_up() -> None:
    from modelwatch.core.sandbox.runner import warm_up

    flask_app()
    warm_up(wait=False)


@worker_process_init.connect
def _start_warming(**_kwargs) -> None:
    """Right after the fork: build the app and the sandbox's warm worker in the background, report UP now."""
    threading.Thread(target=_warm_up, daemon=True, name="modelwatch-warm-up").start()


@celery.task(name=CELERY_TASK, throws=(RunFailed,))
def execute_run_task(run_id: str) -> str:
    """Execute one queued run; a run already claimed, cancelled or deleted is skipped (state IGNORED)."""
    from modelwatch.services.runs import execute_run

    with flask_app().app_context():
        status = execute_run(run_id)
    if status is None:
        raise Ignore()
    if status == "failed":
        raise RunFailed(f"run {run_id} failed")
    return status
