"""The runs executing in this process, each with its cancel event, and the watcher that sets it.

While a run executes, :func:`watch` writes ``Run.heartbeat_at`` every few seconds and reads the row every
second: when the row is no longer ``running`` for this process (cancelled, deleted, or released by the
janitor) it sets the run's cancel event, which stops the sandbox. :func:`signal_cancel` is the shortcut when
the cancellation is asked in this very process. A request waiting for a run that executes here sleeps in
:func:`wait_while_executing_here` until the run ends, instead of reading its row over and over.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from modelwatch.execution.queue import worker_id
from modelwatch.extensions import db
from modelwatch.models import Run, utcnow
from modelwatch.run_status import RunStatus

POLL_S = 1.0  # how soon a cancellation reaches the executing process
HEARTBEAT_S = 5.0

_active: dict[str, threading.Event] = {}  # runs executing in this process -> their cancel events
_active_lock = threading.Lock()
_ended = threading.Condition(_active_lock)  # notified when a run leaves ``_active``, its outcome stored


def signal_cancel(run_id: str) -> bool:
    """Set the cancel event of a run executing in this process; False when it executes elsewhere."""
    with _active_lock:
        event = _active.get(run_id)
    if event is not None:
        event.set()
    return event is not None


def executing_here() -> set[str]:
    """Ids of the runs this process is executing now."""
    with _active_lock:
        return set(_active)


def active_events() -> dict[str, threading.Event]:
    """The runs this process is executing now, with their cancel events."""
    with _active_lock:
        return dict(_active)


@contextmanager
def watch(run_id: str) -> Iterator[threading.Event]:
    """Beat and watch the row while the body executes the (already claimed) run; yields its cancel event."""
    app = current_app._get_current_object()
    cancel, stop = threading.Event(), threading.Event()
    with _active_lock:
        _active[run_id] = cancel
    thread = threading.Thread(target=_watch_loop, args=(app, run_id, cancel, stop), daemon=True,
                              name=f"modelwatch-watch-{run_id}")
    if not _in_memory_database():  # one shared connection: a second thread must not use it
        thread.start()
    try:
        yield cancel
    finally:
        stop.set()
        if thread.is_alive():
            thread.join(timeout=10)
        with _ended:
            _active.pop(run_id, None)
            _ended.notify_all()


def wait_while_executing_here(run_id: str, timeout: float) -> bool:
    """Block until the run stops executing in this process (whatever ended it, its row says so by then) or
    ``timeout`` seconds pass; False at once when it does not execute here."""
    with _ended:
        if run_id not in _active:
            return False
        _ended.wait_for(lambda: run_id not in _active, timeout)
        return True


def _in_memory_database() -> bool:
    url = db.engine.url
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _watch_loop(app: Flask, run_id: str, cancel: threading.Event, stop: threading.Event) -> None:
    last_beat = time.monotonic()
    with app.app_context():
        try:
            while not stop.wait(POLL_S):
                try:
                    if time.monotonic() - last_beat >= HEARTBEAT_S:
                        db.session.execute(update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING)
                                           .values(heartbeat_at=utcnow()))
                        last_beat = time.monotonic()
                    row = db.session.execute(select(Run.status, Run.worker).where(Run.id == run_id)).first()
                    db.session.commit()  # ends the read transaction: the next read sees other processes' writes
                except SQLAlchemyError:
                    db.session.rollback()  # a locked or briefly unreachable database: try again next tick
                    continue
                if row is None or row.status != RunStatus.RUNNING or row.worker != worker_id():
                    cancel.set()
                    return
        finally:
            db.session.remove()
