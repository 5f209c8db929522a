"""The run queue is the runs table: a queued row is a waiting run, and a conditional update claims it.

A claim moves one row from ``queued`` to ``running`` for this process (``Run.worker``), so a run handed out twice
(two executors, a re-sent broker message, a redelivery) is executed once.
"""
from __future__ import annotations

import os
import socket

from sqlalchemy import select, update

from modelwatch.extensions import db
from modelwatch.models import Run, utcnow
from modelwatch.run_status import RunStatus


def worker_id() -> str:
    """``host:pid`` of this process, as a claim stores it in ``Run.worker``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(run_id: str) -> bool:
    """Move a queued run to running for this process, atomically; False when it is not queued any more."""
    now = utcnow()
    claimed = db.session.execute(
        update(Run).where(Run.id == run_id, Run.status == RunStatus.QUEUED, Run.deleted_at.is_(None))
        .values(status=RunStatus.RUNNING, stage="starting", started_at=now, heartbeat_at=now, worker=worker_id())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def claim_next() -> str | None:
    """Claim the oldest queued run of the whole server; None when nothing is queued."""
    while True:
        run_id = db.session.execute(
            select(Run.id).where(Run.status == RunStatus.QUEUED, Run.deleted_at.is_(None))
            .order_by(Run.created_at, Run.id).limit(1)
        ).scalar()
        db.session.commit()
        if run_id is None or claim(run_id):  # else another runner took it first: look again
            return run_id
