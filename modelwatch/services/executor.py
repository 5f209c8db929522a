"""Where runs execute: inline (tests), a thread pool in the web process (default), or Celery workers.

All three take the id of a queued run and nothing else: the run's row is the only state, and
``services.runs.execute_run`` claims it atomically, so a run handed out twice still executes once.
Cancellation is written to the row by ``services.runs.cancel_run``; whichever process executes the run
sees it within a second (``services.recovery.watch``) and stops the sandbox. ``cancel`` here only makes
that faster when the run happens to execute in this process, or drops a task still waiting in the queue.
"""
from __future__ import annotations

import os
import threading
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
    """Runner threads in each web process that take the oldest queued run of the whole server.

    Every process shares the runs table, so a free runner anywhere takes the next run: no process idles while
    another has a backlog, at most ``workers`` runs execute per process, the rest wait in the table (never
    dropped), and a queued run outlives the process that received it.
    """

    name = "threads"
    IDLE_POLL_S = 0.5  # how soon a run queued by another process is noticed
    ERROR_BACKOFF_S = 2.0  # the database is unreachable: do not spin

    def __init__(self, app: Flask, workers: int) -> None:
        self.app = app
        self.workers = workers
        self.wake = threading.Condition()
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # shutdown: take no more runs
        self.started_pid = 0
        app.before_request(self.start)  # a server without gunicorn's hook: with the process's first request

    def start(self) -> None:
        """Start this process's runners once (gunicorn forks workers after the app is built)."""
        with self.lock:
            if self.started_pid == os.getpid():
                return
            self.started_pid = os.getpid()
            for index in range(self.workers):
                threading.Thread(target=self._loop, daemon=True, name=f"modelwatch-run-{index}").start()

    def submit(self, run_id: str) -> None:
        self.start()
        with self.wake:
            self.wake.notify()

    def cancel(self, run_id: str) -> None:
        _cancel_local(run_id)  # a queued run is skipped anyway: its claim fails once the row says failed

    def _loop(self) -> None:
        from modelwatch.extensions import db
        from modelwatch.services.runs import execute_next

        while not self.stopping.is_set():
            ran, pause = False, self.IDLE_POLL_S
            with self.app.app_context():
                try:
                    ran = execute_next()
                except Exception:
                    self.app.logger.exception("the run queue could not be read")
                    db.session.rollback()
                    pause = self.ERROR_BACKOFF_S
                finally:
                    db.session.remove()
            if not ran:
                with self.wake:
                    self.wake.wait(timeout=pause)


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


def start_background(app: Flask) -> None:
    """Start this process's runners and janitor now: recovery and queue draining begin with the process
    (gunicorn's ``post_worker_init``, the Celery worker), not with its first request."""
    from modelwatch.services.recovery import start_janitor

    executor = app.extensions[EXTENSION_KEY]
    if isinstance(executor, ThreadExecutor):
        executor.start()
    start_janitor(app)


def shutdown(app: Flask) -> list[str]:
    """Before the process exits: take no more runs, queue again the runs it executes and stop their sandboxes."""
    from modelwatch.services.recovery import release_own_runs, stop_janitor

    stop_janitor(app)
    executor = app.extensions[EXTENSION_KEY]
    if isinstance(executor, ThreadExecutor):
        executor.stopping.set()
        with executor.wake:
            executor.wake.notify_all()
    with app.app_context():
        return release_own_runs()
