"""No run is lost or stuck: the janitor releases orphans and re-sends lost messages (with the watcher beside
each executing run, ``execution.cancellation``). The janitor runs every ``RECOVERY_INTERVAL_S`` in each web and
worker process, started with the process (``execution.background``), and:

- releases a ``running`` run whose worker process is gone (``Run.worker`` is ``host:pid``) or whose
  heartbeat is older than ``STALE_AFTER_S``: an infrastructure loss, so the run is queued again, at most
  ``RUN_MAX_ATTEMPTS`` times in all, then failed with ``worker_lost``;
- re-dispatches a ``queued`` run that no worker claimed within ``REDISPATCH_S`` (a broker that lost its
  messages): sending it twice is harmless, a run is claimed once, by a conditional update;
- writes the outcome this process could not store while the database was away (``database_unavailable``).

On shutdown (:func:`release_own_runs`, gunicorn's ``worker_exit``) a process re-queues the runs it executes
and stops their sandboxes, so a deploy loses nothing.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from modelwatch.core.config import RunConfig
from modelwatch.errors import WorkerLost
from modelwatch.execution.cancellation import active_events, executing_here
from modelwatch.execution.executors import get_executor
from modelwatch.execution.queue import worker_id
from modelwatch.extensions import db
from modelwatch.models import Run, utcnow
from modelwatch.run_status import RunStatus
from modelwatch.services import metrics

STALE_AFTER_S = 30.0  # several missed heartbeats: the executing process is gone or stuck
OWN_GRACE_S = 10.0  # a run of this very process that it does not know: allow for the claim -> watch gap
DEFAULT_INTERVAL_S = 10.0
DEFAULT_REDISPATCH_S = 120.0
DEFAULT_MAX_ATTEMPTS = 2  # the first execution and one retry after an infrastructure loss

_undelivered: dict[str, dict[str, Any]] = {}  # runs whose outcome the database could not take -> that error
_undelivered_lock = threading.Lock()


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
            if run.id not in executing_here() and run.id not in _undelivered and quiet_s > OWN_GRACE_S:
                return f"this process ({run.worker}) restarted while the run was executing"
        elif not _pid_alive(pid):
            return f"its worker process ({run.worker}) ended while the run was executing"
        else:
            # alive here but silent (a database that stays locked?): the sandbox's own time limit ends the run
            # first, so only a process stuck well past it is given up on
            stale_after_s = max(stale_after_s, float((run.config or {}).get("timeout_s") or RunConfig.timeout_s) + 60)
    if quiet_s > stale_after_s:
        return f"its worker ({run.worker or 'unknown'}) sent no heartbeat for {quiet_s:.0f} s"
    return None


def recover_orphans(stale_after_s: float = STALE_AFTER_S) -> list[str]:
    """Release every ``running`` run that no live process executes; returns their ids."""
    now = utcnow()
    orphans = [(run, reason) for run in Run.query.filter(Run.status == RunStatus.RUNNING).all()
               if (reason := orphan_reason(run, now, stale_after_s)) is not None]
    db.session.commit()
    return [run.id for run, reason in orphans if release(run.id, run.worker, reason)]


def release(run_id: str, worker: str | None, reason: str) -> str | None:
    """Queue a run again after an infrastructure loss, or fail it (``worker_lost``) once its attempts are spent.

    Conditional on the row still being ``running`` by ``worker``: a run that finishes at the same moment keeps
    its real outcome, and several janitors never fight. Returns the new status, or None when nothing changed.
    """
    run = db.session.get(Run, run_id)
    if run is None or run.status != RunStatus.RUNNING or run.worker != worker:
        db.session.commit()
        return None
    now, attempts = utcnow(), (run.attempts or 0) + 1
    limit = int(current_app.config.get("RUN_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS))
    where = update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.worker == worker)
    if attempts < limit and run.deleted_at is None:
        values = {"status": RunStatus.QUEUED, "stage": "queued", "progress": 0.0, "worker": None,
                  "started_at": None, "heartbeat_at": None, "attempts": attempts, "dispatched_at": now}
    else:
        lost = WorkerLost(f"The run was stopped because {reason}; submit it again.",
                          {"worker": worker, "stage": run.stage, "progress": run.progress, "attempts": attempts,
                           "last_heartbeat": run.heartbeat_at.isoformat() + "Z" if run.heartbeat_at else None})
        values = {"status": RunStatus.FAILED, "stage": "failed", "finished_at": now, "attempts": attempts,
                  "error": lost.to_dict()}
    changed = db.session.execute(where.values(**values).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    if not changed:
        return None
    metrics.recovered("requeued" if values["status"] == RunStatus.QUEUED else "failed")
    current_app.logger.warning("run %s released (%s): %s", run_id, values["status"], reason,
                               extra={"run_id": run_id})
    if values["status"] == RunStatus.QUEUED:
        try:
            get_executor().submit(run_id)
        except Exception:  # the broker is away too: the sweeper sends it again later
            current_app.logger.warning("run %s could not be re-dispatched now", run_id, extra={"run_id": run_id})
    return values["status"]


def redispatch_queued(after_s: float) -> list[str]:
    """Hand again to the executor every ``queued`` run that was dispatched more than ``after_s`` ago.

    A broker that lost its messages (a restart without persistence, a failover, an eviction) must not strand
    a run: the row is the truth. Each re-dispatch is stamped by a conditional update, so several janitors
    send a given run once per period.
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=after_s)
    stale = db.session.execute(
        select(Run.id, Run.dispatched_at).where(Run.status == RunStatus.QUEUED, Run.deleted_at.is_(None),
                                                db.or_(Run.dispatched_at.is_(None), Run.dispatched_at < cutoff))
        .order_by(Run.created_at).limit(500)
    ).all()
    sent = []
    for run_id, dispatched in stale:
        changed = db.session.execute(
            update(Run).where(Run.id == run_id, Run.status == RunStatus.QUEUED,
                              Run.dispatched_at.is_(None) if dispatched is None else Run.dispatched_at == dispatched)
            .values(dispatched_at=now).execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if changed:
            get_executor().submit(run_id)
            sent.append(run_id)
    metrics.recovered("redispatched", len(sent))
    if sent:
        current_app.logger.warning("re-dispatched %d queued run(s) nobody claimed: %s", len(sent), ", ".join(sent))
    return sent


def remember_undelivered(run_id: str, error: dict[str, Any]) -> None:
    """Keep an outcome the database could not take; the janitor writes it once the database answers."""
    with _undelivered_lock:
        _undelivered[run_id] = error


def deliver_pending() -> list[str]:
    """Fail the runs whose outcome was lost to a database outage, with that error (``database_unavailable``)."""
    with _undelivered_lock:
        pending = dict(_undelivered)
    delivered = []
    for run_id, error in pending.items():
        db.session.execute(
            update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.worker == worker_id())
            .values(status=RunStatus.FAILED, stage="failed", progress=1.0, error=error, finished_at=utcnow())
            .execution_options(synchronize_session=False))
        db.session.commit()
        with _undelivered_lock:
            _undelivered.pop(run_id, None)
        delivered.append(run_id)
    return delivered


def release_own_runs(reason: str = "the server shut down", wait_s: float = 5.0) -> list[str]:
    """On shutdown: queue again (or fail, when spent) the runs this process executes and stop their sandboxes."""
    released = []
    for run_id, cancel in active_events().items():
        try:
            if release(run_id, worker_id(), reason):
                released.append(run_id)
        except SQLAlchemyError:
            db.session.rollback()
        cancel.set()
    deadline = time.monotonic() + wait_s
    while executing_here() and time.monotonic() < deadline:  # the sandboxes die within a fraction of a second
        time.sleep(0.05)
    return released


def sweep(app: Flask) -> None:
    """One pass of the janitor: outcomes to deliver, orphans to release, lost messages to re-send."""
    deliver_pending()
    recover_orphans(float(app.config.get("STALE_AFTER_S", STALE_AFTER_S)))
    redispatch_queued(float(app.config.get("REDISPATCH_S", DEFAULT_REDISPATCH_S)))


def _janitor_loop(app: Flask, interval_s: float, stop: threading.Event) -> None:
    while not stop.is_set():
        with app.app_context():
            try:
                sweep(app)
            except Exception:  # never let the janitor die: a missing table before `db upgrade`, a DB blip
                app.logger.debug("recovery check failed", exc_info=True)
                db.session.rollback()
            finally:
                db.session.remove()
        stop.wait(interval_s)


def start_janitor(app: Flask) -> bool:
    """Start this process's janitor thread once; False when disabled (``RECOVERY_INTERVAL_S`` 0, or tests)."""
    interval = app.config.get("RECOVERY_INTERVAL_S", 0 if app.config.get("TESTING") else DEFAULT_INTERVAL_S)
    state = app.extensions.setdefault("modelwatch.janitor", {})
    if not interval or state.get("pid") == os.getpid():
        return False
    state["pid"], state["stop"] = os.getpid(), threading.Event()
    threading.Thread(target=_janitor_loop, args=(app, float(interval), state["stop"]), daemon=True,
                     name="modelwatch-janitor").start()
    return True


def stop_janitor(app: Flask) -> None:
    """Stop this process's janitor (shutdown): its last pass, if one runs, finishes."""
    stop = app.extensions.get("modelwatch.janitor", {}).get("stop")
    if stop is not None:
        stop.set()
