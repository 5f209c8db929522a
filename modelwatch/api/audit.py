"""GET /api/audit: the audit trail, for admins (the gate checks the ``admin`` scope)."""
from __future__ import annotations

from datetime import UTC

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from modelwatch.api.schemas import ErrorEnvelopeSchema
from modelwatch.services import audit
from modelwatch.services.presenters import iso

blp = Blueprint("audit", __name__, description="Who did what: runs, tokens, users (admins)")


class AuditQuerySchema(Schema):
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=audit.MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))
    action = fields.String(validate=validate.Length(max=40), metadata={"description": "e.g. run.delete"})
    actor = fields.String(validate=validate.Length(max=120), metadata={"description": "e.g. user:alice, token:ci"})
    since = fields.DateTime(metadata={"description": "ISO 8601, UTC"})


class AuditEventSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.String(required=True, metadata={"description": "ISO 8601 UTC", "format": "date-time"})
    actor = fields.String(required=True)
    action = fields.String(required=True)
    target = fields.String(required=True)
    details = fields.Dict(required=True)


class AuditListSchema(Schema):
    events = fields.List(fields.Nested(AuditEventSchema), required=True)
    total = fields.Integer(required=True)


@blp.route("/api/audit", methods=["GET"])
@blp.arguments(AuditQuerySchema, location="query", error_status_code=400)
@blp.response(200, AuditListSchema)
@blp.alt_response(400, schema=ErrorEnvelopeSchema, description="bad_request: an invalid query parameter")
def list_events(query: dict):
    """Audit events, newest first: run.create/delete/cancel/tag, token.create/revoke, user.create/role/login."""
    if query.get("since") is not None and query["since"].tzinfo is not None:
        query["since"] = query["since"].astimezone(UTC).replace(tzinfo=None)
    events, total = audit.list_events(**query)
    return {"events": [{**event, "at": iso(event["at"])} for event in events], "total": total}
