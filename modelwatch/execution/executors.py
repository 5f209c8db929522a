"""Where runs execute: inline (tests), a thread pool in the web process (default), or Celery workers.

All three take the id of a queued run and nothing else: the run's row is the only state, and a claim
(``execution.queue``) moves it to ``running`` atomically, so a run handed out twice still executes once. What
executing a claimed run means (``services.runs.execute_claimed``) is handed in by the application factory:
``init_executor(app, work)``. Cancellation is written to the row by ``services.runs.cancel_run``; whichever
process executes the run sees it within a second (``execution.cancellation.watch``) and stops the sandbox.
``cancel`` here only makes that faster when the run happens to execute in this process, or drops a task still
waiting in the broker.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol

from flask import Flask, current_app

from modelwatch.errors import ServiceUnavailable
from modelwatch.execution import queue
from modelwatch.execution.cancellation import signal_cancel
from modelwatch.execution.celery_app import CELERY_TASK, make_celery
from modelwatch.extensions import db

EXTENSION_KEY = "modelwatch.executor"
WORK_KEY = "modelwatch.work"

Work = Callable[[str], str | None]
"""Executes a run this process has claimed; returns its final status (None when another outcome stands)."""


class Executor(Protocol):
    """Takes the id of a queued run; the run's row is the only state."""

    name: str

    def submit(self, run_id: str) -> None:
        """Hand a queued run over for execution (returns at once, except inline)."""

    def cancel(self, run_id: str) -> None:
        """Best effort: stop a run of this executor sooner than the row watcher would."""


def execute_queued(run_id: str) -> str | None:
    """Claim a queued run for this process and execute it with the app's work function.

    Returns the run's final status, or None when the run was not this call's to execute (claimed elsewhere,
    cancelled or deleted).
    """
    if not queue.claim(run_id):
        return None
    return current_app.extensions[WORK_KEY](run_id)


class InlineExecutor:
    """Runs the suite before ``submit`` returns: deterministic for tests."""

    name = "inline"

    def submit(self, run_id: str) -> None:
        execute_queued(run_id)

    def cancel(self, run_id: str) -> None:
        signal_cancel(run_id)


class ThreadExecutor:
    """Runner threads in each web process that take the oldest queued run of the whole server.

    Every process shares the runs table, so a free runner anywhere takes the next run: no process idles while
    another has a backlog, at most ``workers`` runs execute per process, the rest wait in the table (never
    dropped), and a queued run outlives the process that received it.
    """

    name = "threads"
    IDLE_POLL_S = 0.5  # how soon a run queued by another process is noticed
    ERROR_BACKOFF_S = 2.0  # the database is unreachable: do not spin

    def __init__(self, app: Flask, workers: int, work: Work) -> None:
        self.app = app
        self.workers = workers
        self.work = work
        self.wake = threading.Condition()
        self.lock = threading.Lock()
        self.stopping = threading.Event()  # shutdown: take no more runs
        self.started_pid = 0

    def start(self) -> None:
        """Start this process's runners once (gunicorn forks workers after the app is built)."""
        with self.lock:
            if self.started_pid == os.getpid():
                return
            self.started_pid = os.getpid()
            for index in range(self.workers):
                threading.Thread(target=self._loop, daemon=True, name=f"modelwatch-run-{index}").start()

    def stop(self) -> None:
        """Take no more runs (shutdown); the runs executing now are released by the caller."""
        self.stopping.set()
        with self.wake:
            self.wake.notify_all()

    def submit(self, run_id: str) -> None:
        self.start()
        with self.wake:
            self.wake.notify()

    def cancel(self, run_id: str) -> None:
        signal_cancel(run_id)  # a queued run is skipped anyway: its claim fails once the row says failed

    def _loop(self) -> None:
        while not self.stopping.is_set():
            ran, pause = False, self.IDLE_POLL_S
            with self.app.app_context():
                try:
                    run_id = queue.claim_next()
                    if run_id is not None:
                        self.work(run_id)
                        ran = True
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
    """Sends each run to Celery workers through the broker (``celery -A modelwatch.celery_worker worker``)."""

    name = "celery"

    def __init__(self, broker_url: str) -> None:
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
        signal_cancel(run_id)
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


def make_executor(app: Flask, work: Work) -> Executor:
    """The executor the settings ask for: ``inline``, Celery when a broker is configured, else threads."""
    kind = app.config["EXECUTOR"]
    broker = app.config.get("BROKER_URL")
    if kind == "inline":
        return InlineExecutor()
    if kind == "celery" or broker:
        if not broker:
            raise RuntimeError("MODELWATCH_EXECUTOR=celery needs MODELWATCH_BROKER_URL (a Redis URL).")
        return CeleryExecutor(broker)
    return ThreadExecutor(app, app.config["EXECUTOR_WORKERS"], work)


def init_executor(app: Flask, work: Work) -> None:
    """Keep the work function and the executor the settings choose on the app (threads start later)."""
    app.extensions[WORK_KEY] = work
    app.extensions[EXTENSION_KEY] = make_executor(app, work)


def get_executor() -> Executor:
    """The executor of the current app."""
    return current_app.extensions[EXTENSION_KEY]
