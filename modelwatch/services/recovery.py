"""Nothing stays "running" forever: a watcher beside each executing run, and a janitor that fails orphans.

While a run executes, :func:`watch` writes ``Run.heartbeat_at`` every few seconds and reads the row every
second: when the row is no longer ``running`` (cancelled, deleted, or failed by the janitor) it sets the
run's cancel event, which stops the sandbox. The janitor (:func:`recover_orphans`, every
``RECOVERY_INTERVAL_S`` in each web and worker process) fails a ``running`` run whose worker process is
gone (``Run.worker`` is ``host:pid``) or whose heartbeat is older than ``STALE_AFTER_S``: after a crash
or a restart such a run ends ``failed`` with the code ``worker_lost`` well within a minute.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from modelwatch.extensions import db
from modelwatch.models import Run, utcnow

POLL_S = 1.0  # how soon a cancellation reaches the executing process
HEARTBEAT_S = 5.0
STALE_AFTER_S = 30.0  # several missed heartbeats: the executing process is gone or stuck
OWN_GRACE_S = 10.0  # a run of this very process that it does not know: allow for the claim -> watch gap
DEFAULT_INTERVAL_S = 10.0

_active: dict[str, threading.Event] = {}  # runs executing in this process -> their cancel events
_active_lock = threading.Lock()


def worker_id() -> str:
    """``host:pid`` of this process, as stored in ``Run.worker``."""
    return f"{socket.gethostname()}:{os.getpid()}"


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
        with _active_lock:
            _active.pop(run_id, None)


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
                        db.session.execute(update(Run).where(Run.id == run_id, Run.status == "running")
                                           .values(heartbeat_at=utcnow()))
                        last_beat = time.monotonic()
                    status = db.session.execute(select(Run.status).where(Run.id == run_id)).scalar_one_or_none()
                    db.session.commit()  # ends the read transaction: the next read sees other processes' writes
                except SQLAlchemyError:
                    db.session.rollback()  # a locked or briefly unreachable database: try again next tick
                    continue
                if status != "running":
                    cancel.set()
                    return
        finally:
            db.session.remove()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    try:  # a killed process its parent has not reaped yet is a zombie: dead for our purpose
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def orphan_reason(run: Run, now: Any = None, stale_after_s: float = STALE_AFTER_S) -> str | None:
    """Why nobody executes this ``running`` run any more, or None while it looks alive."""
    now = now or utcnow()
    last = run.heartbeat_at or run.started_at or run.created_at
    quiet_s = (now - last).total_seconds() if last else float("inf")
    host, _, pid_text = (run.worker or "").rpartition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            if run.id not in executing_here() and quiet_s > OWN_GRACE_S:
                return f"this process ({run.worker}) restarted while the run was executing"
        elif not _pid_alive(pid):
            return f"its worker process ({run.worker}) ended while the run was executing"
        else:
            # alive here but silent (a database that stays locked?): the sandbox's own time limit ends the run
            # first, so only a process stuck well past it is given up on
            stale_after_s = max(stale_after_s, float((run.config or {}).get("timeout_s") or 300) + 60)
    if quiet_s > stale_after_s:
        return f"its worker ({run.worker or 'unknown'}) sent no heartbeat for {quiet_s:.0f} s"
    return None


def recover_orphans(stale_after_s: float = STALE_AFTER_S) -> list[str]:
    """Fail every ``running`` run that no live process executes; returns their ids.

    Each update is conditional on the row still being ``running`` by the same worker, so a run that
    finishes at the same moment keeps its real outcome, and several janitors never fight.
    """
    now = utcnow()
    recovered = []
    for run in Run.query.filter(Run.status == "running").all():
        reason = orphan_reason(run, now, stale_after_s)
        if reason is None:
            continue
        error = {"code": "worker_lost",
                 "message": f"The run was stopped because {reason}; submit it again.",
                 "details": {"worker": run.worker, "stage": run.stage, "progress": run.progress,
                             "last_heartbeat": run.heartbeat_at.isoformat() + "Z" if run.heartbeat_at else None}}
        changed = db.session.execute(
            update(Run).where(Run.id == run.id, Run.status == "running", Run.worker == run.worker)
            .values(status="failed", stage="failed", error=error, finished_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed:
            recovered.append(run.id)
    db.session.commit()
    if recovered:
        current_app.logger.warning("failed %d orphaned run(s): %s", len(recovered), ", ".join(recovered))
    return recovered


def _janitor_loop(app: Flask, interval_s: float) -> None:
    while True:
        with app.app_context():
            try:
                recover_orphans()
            except Exception:  # never let the janitor die: a missing table before `db upgrade`, a DB blip
                app.logger.debug("recovery check failed", exc_info=True)
                db.session.rollback()
            finally:
                db.session.remove()
        time.sleep(interval_s)


def start_janitor(app: Flask) -> bool:
    """Start this process's janitor thread once; False when disabled (``RECOVERY_INTERVAL_S`` 0, or tests)."""
    interval = app.config.get("RECOVERY_INTERVAL_S", 0 if app.config.get("TESTING") else DEFAULT_INTERVAL_S)
    state = app.extensions.setdefault("modelwatch.janitor", {})
    if not interval or state.get("pid") == os.getpid():
        return False
    state["pid"] = os.getpid()
    threading.Thread(target=_janitor_loop, args=(app, float(interval)), daemon=True,
                     name="modelwatch-janitor").start()
    return True


def init_recovery(app: Flask) -> None:
    """Start the janitor with the first request of each web process (not in CLI commands nor at import)."""

    def _start() -> None:
        start_janitor(app)

    app.before_request(_start)
