"""Where runs execute: inline (tests), a thread pool in the web process (default), or Celery workers.

All three take the id of a queued run and nothing else: the run's row is the only state, and
``services.runs.execute_run`` claims it atomically, so a run handed out twice still executes once.
Cancellation is written to the row by ``services.runs.cancel_run``; whichever process executes the run
sees it within a second (``services.recovery.watch``) and stops the sandbox. ``cancel`` here only makes
that faster when the run happens to execute in this process, or drops a task still waiting in the queue.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from flask import Flask, current_app

from modelwatch.errors import ServiceUnavailable

EXTENSION_KEY = "modelwatch.executor"
CELERY_TASK = "modelwatch.execute_run"


class Executor(Protocol):
    """Takes the id of a queued run; the run's row is the only state."""

    name: str

    def submit(self, run_id: str) -> None:
        """Hand a queued run over for execution (returns at once, except inline)."""

    def cancel(self, run_id: str) -> None:
        """Best effort: stop a run of this executor sooner than the row watcher would."""


def _cancel_local(run_id: str) -> None:
    from modelwatch.services.recovery import signal_cancel

    signal_cancel(run_id)


class InlineExecutor:
    """Runs the suite before ``submit`` returns: deterministic for tests."""

    name = "inline"

    def submit(self, run_id: str) -> None:
        from modelwatch.services.runs import execute_run

        execute_run(run_id)

    def cancel(self, run_id: str) -> None:
        _cancel_local(run_id)


class ThreadExecutor:
    """A bounded thread pool in the web process; the sandbox child does the heavy work."""

    name = "threads"

    def __init__(self, app: Flask, workers: int) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="modelwatch-run")

    def submit(self, run_id: str) -> None:
        self.pool.submit(self._execute, run_id)

    def cancel(self, run_id: str) -> None:
        _cancel_local(run_id)  # a queued run is skipped anyway: its claim fails once the row says failed

    def _execute(self, run_id: str) -> None:
        from modelwatch.services.runs import execute_run

        with self.app.app_context():
            try:
                execute_run(run_id)
            except Exception:
                self.app.logger.exception("run %s could not be executed", run_id)


class CeleryExecutor:
    """Sends each run to Celery workers through the broker (``celery -A modelwatch.worker worker``)."""

    name = "celery"

    def __init__(self, broker_url: str) -> None:
        from modelwatch.worker import make_celery

        self.broker_url = broker_url
        self.celery = make_celery(broker_url)

    @staticmethod
    def task_id(run_id: str) -> str:
        return f"run-{run_id}"

    def submit(self, run_id: str) -> None:
        try:
            # by name: the web process never imports the task's module, only the worker does
            self.celery.send_task(CELERY_TASK, args=[run_id], task_id=self.task_id(run_id))
        except Exception as exc:  # kombu raises several types for an unreachable broker
            raise ServiceUnavailable("The run queue (Redis) cannot be reached; try again shortly.",
                                     {"broker": _redact(self.broker_url), "reason": str(exc)[:200]}) from exc

    def cancel(self, run_id: str) -> None:
        _cancel_local(run_id)
        try:
            self.celery.control.revoke(self.task_id(run_id))  # drops it if no worker has taken it yet
        except Exception:  # the row is already failed: a worker that takes it skips it
            pass


def _redact(url: str) -> str:
    """The broker URL without its password."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def make_executor(app: Flask) -> Executor:
    """The executor the config asks for: ``inline``, Celery when a broker is configured, else threads."""
    kind = app.config["EXECUTOR"]
    broker = app.config.get("BROKER_URL")
    if kind == "inline":
        return InlineExecutor()
    if kind == "celery" or broker:
        if not broker:
            raise RuntimeError("MODELWATCH_EXECUTOR=celery needs MODELWATCH_BROKER_URL (a Redis URL).")
        return CeleryExecutor(broker)
    return ThreadExecutor(app, app.config["EXECUTOR_WORKERS"])


def init_executor(app: Flask) -> None:
    """Choose the executor from the config and keep it on the app."""
    app.extensions[EXTENSION_KEY] = make_executor(app)


def get_executor() -> Executor:
    """The executor of the current app."""
    return current_app.extensions[EXTENSION_KEY]
