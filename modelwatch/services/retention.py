"""Retention: remove deleted runs, finished runs older than a cutoff, and model files no run uses any more."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import delete, select

from modelwatch.errors import BadRequest
from modelwatch.extensions import db
from modelwatch.models import ModelArtifact, Run, utcnow
from modelwatch.run_status import FINISHED
from modelwatch.services import artifact_store

_AGE = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
ARTIFACT_GRACE = timedelta(hours=1)


def parse_age(text: str) -> timedelta:
    """``90d``, ``12h`` or ``30m`` as a timedelta.

    Raises:
        BadRequest: another form.
    """
    match = _AGE.match(text.strip())
    if not match:
        raise BadRequest(f"{text!r} is not an age like 90d, 12h or 30m.")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def collect_garbage(older_than: timedelta | None, dry_run: bool = False) -> dict[str, int]:
    """Delete soft-deleted runs, finished runs created before ``now - older_than`` (when given), then the artifacts
    (rows and stored files) no remaining run refers to. Queued and running runs are never touched, nor an
    artifact stored in the last ``ARTIFACT_GRACE`` (its run may be being submitted).

    Returns how many runs and artifacts were (or, with ``dry_run``, would be) removed.
    """
    now = utcnow()
    doomed = Run.deleted_at.is_not(None)
    if older_than is not None:
        doomed = db.or_(doomed, db.and_(Run.status.in_(FINISHED), Run.created_at < now - older_than))
    runs = db.session.execute(delete(Run).where(doomed).execution_options(synchronize_session=False)).rowcount
    orphans = db.session.execute(
        select(ModelArtifact.id, ModelArtifact.sha256)
        .where(ModelArtifact.id.not_in(select(Run.artifact_id).distinct()),
               ModelArtifact.created_at < now - ARTIFACT_GRACE)).all()
    if orphans:
        db.session.execute(delete(ModelArtifact).where(ModelArtifact.id.in_([a.id for a in orphans]))
                           .execution_options(synchronize_session=False))
    if dry_run:
        db.session.rollback()
        return {"runs": runs, "artifacts": len(orphans)}
    db.session.commit()
    for artifact in orphans:
        artifact_store.remove(artifact.sha256)
    return {"runs": runs, "artifacts": len(orphans)}
