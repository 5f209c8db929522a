"""Health of the service: liveness (the process answers), readiness (it can take work), and the queue's state."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from modelwatch.core.sandbox import runner as sandbox
from modelwatch.execution.executors import get_executor
from modelwatch.extensions import db
from modelwatch.models import Run, utcnow
from modelwatch.run_status import RunStatus

BROKER_TIMEOUT_S = 1.0


def check_health() -> dict[str, str]:
    """``status`` is ``ok`` only when the database answers."""
    database = _database()
    # the contract's two values: runs execute in this process (threads or inline) or on Celery workers
    executor = "celery" if get_executor().name == "celery" else "inline"
    return {"status": "ok" if database == "ok" else "degraded", "database": database, "executor": executor}


def _database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        return "ok"
    except SQLAlchemyError:
        db.session.rollback()
        return "unavailable"


def _broker() -> str:
    """``ok``, ``unavailable``, or ``none`` when runs execute in this process (no broker)."""
    executor = get_executor()
    if executor.name != "celery":
        return "none"
    import redis

    try:
        redis.Redis.from_url(executor.broker_url, socket_timeout=BROKER_TIMEOUT_S,
                             socket_connect_timeout=BROKER_TIMEOUT_S).ping()
        return "ok"
    except (redis.RedisError, OSError, ValueError):
        return "unavailable"


def queue_state() -> tuple[dict[str, int], datetime | None]:
    """Runs by status and the creation time of the oldest queued run (deleted runs left out)."""
    rows = db.session.execute(select(Run.status, db.func.count(Run.id)).where(Run.deleted_at.is_(None))
                              .group_by(Run.status)).all()
    oldest = db.session.execute(select(db.func.min(Run.created_at))
                                .where(Run.status == RunStatus.QUEUED, Run.deleted_at.is_(None))).scalar()
    db.session.commit()
    return {status: count for status, count in rows}, oldest


def check_ready() -> dict[str, Any]:
    """Ready when the database and (under Celery) the broker answer; the queue and sandbox are reported.

    ``sandbox`` is ``warm`` when this process's warm worker runs, else ``cold`` (tasks still run, slower).
    """
    database, broker = _database(), _broker()
    body: dict[str, Any] = {"database": database, "broker": broker,
                            "sandbox": "warm" if sandbox.worker_pid() else "cold",
                            "executor": get_executor().name}
    if database == "ok":
        counts, oldest = queue_state()
        body["queue"] = {"queued": counts.get(RunStatus.QUEUED, 0), "running": counts.get(RunStatus.RUNNING, 0),
                         "oldest_queued_age_s": round((utcnow() - oldest).total_seconds(), 1) if oldest else 0.0}
    body["status"] = "ok" if database == "ok" and broker in ("ok", "none") else "unavailable"
    return body
