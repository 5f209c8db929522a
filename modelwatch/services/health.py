"""Health of the service: can it reach its database, and which executor runs the work."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from modelwatch.extensions import db
from modelwatch.services.executor import get_executor


def check_health() -> dict[str, str]:
    """``status`` is ``ok`` only when the database answers."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unavailable"
    executor = "celery" if get_executor().name == "celery" else "inline"
    return {"status": "ok" if database == "ok" else "degraded", "database": database, "executor": executor}
