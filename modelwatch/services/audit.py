"""The audit trail: who created, deleted, tagged or cancelled a run, created or revoked a token, created a user or
changed a role.

Changes made through the ORM are recorded by mapper events in the same transaction as the change, so that a new
code path (a page, an endpoint) cannot forget them; the same events stamp each new run with its author
(``submitted_by``, ``owner_id``). A change made with a bulk UPDATE (cancel) is recorded by ``record``.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import event, inspect

from modelwatch.auth.principal import current_principal, resolved_principal
from modelwatch.extensions import db
from modelwatch.models import ApiToken, AuditEvent, Run, User, utcnow

MAX_LIMIT = 500


def add(action: str, target: str, details: dict[str, Any] | None = None, actor: str | None = None) -> None:
    """Add an action (of the current caller unless ``actor`` is given) to the session: the caller's commit writes it
    with the change (a bulk UPDATE, which the ORM events do not see)."""
    db.session.add(AuditEvent(actor=actor or current_principal().actor, action=action, target=target,
                              details=details))


def record(action: str, target: str, details: dict[str, Any] | None = None, actor: str | None = None) -> None:
    """Record an action (of the current caller unless ``actor`` is given) and commit it."""
    add(action, target, details, actor)
    db.session.commit()


def list_events(limit: int = 100, offset: int = 0, action: str | None = None, actor: str | None = None,
                since: datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """Audit events, newest first, and how many match."""
    query = AuditEvent.query
    if action:
        query = query.filter(AuditEvent.action == action)
    if actor:
        query = query.filter(AuditEvent.actor == actor)
    if since:
        query = query.filter(AuditEvent.at >= since)
    total = query.count()
    rows = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(min(limit, MAX_LIMIT)).offset(offset)
    return [{"id": e.id, "at": e.at, "actor": e.actor, "action": e.action, "target": e.target,
             "details": e.details or {}} for e in rows], total


def _write(connection, action: str, target: str, details: dict[str, Any] | None = None) -> None:
    connection.execute(AuditEvent.__table__.insert().values(
        at=utcnow(), actor=resolved_principal().actor, action=action, target=target, details=details))


def _changed(target, attribute: str) -> tuple[Any, Any] | None:
    """(old, new) when the attribute changed in this flush."""
    history = inspect(target).attrs[attribute].history
    if not history.has_changes():
        return None
    return (history.deleted[0] if history.deleted else None), (history.added[0] if history.added else None)


@event.listens_for(Run, "before_insert")
def _stamp_author(_mapper, _connection, run: Run) -> None:
    principal = resolved_principal()
    if principal.kind in ("user", "token"):
        run.owner_id = run.owner_id or principal.user_id
        run.submitted_by = run.submitted_by or principal.name


@event.listens_for(Run, "after_insert")
def _run_created(_mapper, connection, run: Run) -> None:
    _write(connection, "run.create", run.id, {"name": run.name, "source": run.source})


@event.listens_for(Run, "after_delete")
def _run_deleted(_mapper, connection, run: Run) -> None:
    _write(connection, "run.delete", run.id, {"name": run.name})


@event.listens_for(Run, "after_update")
def _run_tagged(_mapper, connection, run: Run) -> None:
    change = _changed(run, "tags")
    if change is not None:
        _write(connection, "run.tag", run.id, {"from": change[0] or [], "to": change[1] or []})


@event.listens_for(ApiToken, "after_insert")
def _token_created(_mapper, connection, token: ApiToken) -> None:
    _write(connection, "token.create", token.name, {"scopes": token.scopes, "user_id": token.user_id,
                                                    "expires_at": token.expires_at.isoformat() if token.expires_at
                                                    else None})


@event.listens_for(ApiToken, "after_update")
def _token_revoked(_mapper, connection, token: ApiToken) -> None:
    change = _changed(token, "revoked_at")
    if change is not None and change[0] is None and change[1] is not None:
        _write(connection, "token.revoke", token.name)


@event.listens_for(User, "after_insert")
def _user_created(_mapper, connection, user: User) -> None:
    _write(connection, "user.create", user.username, {"role": user.role})


@event.listens_for(User, "after_update")
def _role_changed(_mapper, connection, user: User) -> None:
    change = _changed(user, "role")
    if change is not None and change[0] != change[1]:
        _write(connection, "user.role", user.username, {"from": change[0], "to": change[1]})
