"""The Celery app: the web process sends runs with it, and a run worker (``modelwatch.celery_worker``) serves them.

Importing this module builds no Flask app. Each pool process of a worker builds its own after the fork, with the
factory the worker's entry point hands in, from the same environment as the web process (``DATABASE_URL``...),
so a database pool or the sandbox's warm zygote is never shared across a fork. The build runs in a background
thread started by ``worker_process_init``: the pool process reports UP at once (Celery kills one that is silent
for ``worker_proc_alive_timeout``, raised here too), and its first task waits for the build instead.

Delivery: acknowledged late and rejected (so redelivered) when the pool process dies under it. That is an
infrastructure loss, never the model's doing (the model runs in a sandboxed child): the row's claim makes a
redelivered or re-sent message harmless, and recovery bounds the retries (``RUN_MAX_ATTEMPTS``). A task ends
in Celery's FAILURE state when its run failed, so Flower and the logs agree with the run table.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

from celery import Celery
from celery.exceptions import Ignore
from celery.signals import worker_process_init
from flask import Flask

from modelwatch.core.sandbox import runner as sandbox
from modelwatch.run_status import RunStatus

CELERY_TASK = "modelwatch.execute_run"
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


def worker_celery(build_app: Callable[[], Flask], execute: Callable[[str], str | None]) -> Celery:
    """The Celery app of a run worker: the run task, and each pool process's Flask app built after the fork.

    Args:
        build_app: builds this process's Flask app (and starts its background threads).
        execute: claims a queued run by id and executes it, in an app context; returns its final status, None
            when the run was not this task's to execute (claimed elsewhere, cancelled or deleted).
    """
    celery = make_celery(os.environ.get("MODELWATCH_BROKER_URL") or DEFAULT_BROKER)
    built: dict[int, Flask] = {}
    lock = threading.Lock()

    def flask_app() -> Flask:
        """This pool process's Flask app, built on first use (never at import, never before the fork)."""
        pid = os.getpid()
        with lock:
            if pid not in built:
                app = build_app()
                built.clear()
                built[pid] = app
            return built[pid]

    def warm_up() -> None:
        flask_app()
        sandbox.warm_up(wait=False)

    @worker_process_init.connect(weak=False)
    def start_warming(**_kwargs) -> None:
        """Right after the fork: build the app and the sandbox's warm zygote in the background, report UP now."""
        threading.Thread(target=warm_up, daemon=True, name="modelwatch-warm-up").start()

    @celery.task(name=CELERY_TASK, throws=(RunFailed,))
    def execute_run_task(run_id: str) -> str:
        """Execute one queued run; a run already claimed, cancelled or deleted is skipped (state IGNORED)."""
        with flask_app().app_context():
            status = execute(run_id)
        if status is None:
            raise Ignore()
        if status == RunStatus.FAILED:
            raise RunFailed(f"run {run_id} failed")
        return status

    return celery
