"""Webhook endpoints (admin): allowed destinations for alert events, and each one's delivery log."""
from __future__ import annotations

from flask_smorest import Blueprint

from modelwatch.api.error_docs import error_responses
from modelwatch.api.model_schemas import IdQuerySchema, WebhookSchema
from modelwatch.api.monitoring_schemas import DeliveryListSchema, WebhookEnvelopeSchema, WebhookListSchema
from modelwatch.services import webhooks

blp = Blueprint("webhooks", __name__, description="Webhooks: signed alert deliveries to allowed destinations")


errors = error_responses(blp)


@blp.route("/api/webhooks", methods=["GET"])
@blp.response(200, WebhookListSchema)
@errors(503)
def list_webhooks():
    """Registered webhooks (their secrets are never shown again)."""
    return {"webhooks": [webhooks.webhook_dict(h) for h in webhooks.list_webhooks()]}


@blp.route("/api/webhooks", methods=["POST"])
@blp.arguments(WebhookSchema, error_status_code=400)
@blp.response(201, WebhookEnvelopeSchema)
@errors(400, 403, 503)
def create_webhook(body: dict):
    """Register a destination; it must match a prefix of the admin's allowlist (`MODELWATCH_WEBHOOK_ALLOWLIST`),
    else 403. The answer carries the signing `secret` once."""
    hook, secret = webhooks.create_webhook(body["url"], secret=body.get("secret"), format=body["format"],
                                           model=body.get("model"))
    return {"webhook": {**webhooks.webhook_dict(hook), "secret": secret}}


@blp.route("/api/webhooks/<int:webhook_id>", methods=["DELETE"])
@blp.response(204)
@errors(404, 503)
def delete_webhook(webhook_id: int):
    """Delete a webhook and its delivery log."""
    webhooks.delete_webhook(webhook_id)


@blp.route("/api/webhooks", methods=["DELETE"], endpoint="delete_webhook_by_query")
@blp.arguments(IdQuerySchema, location="query", error_status_code=400)
@blp.response(204)
@errors(400, 404, 503)
def delete_webhook_by_query(query: dict):
    """Delete the webhook named by `?id=` (the same as `DELETE /api/webhooks/<id>`)."""
    webhooks.delete_webhook(query["id"])


@blp.route("/api/webhooks/<int:webhook_id>/deliveries", methods=["GET"])
@blp.response(200, DeliveryListSchema)
@errors(404, 503)
def list_deliveries(webhook_id: int):
    """The latest deliveries, newest first: status (`pending`, `retrying`, `delivered`, `failed`), attempts, the
    receiver's last answer."""
    return {"deliveries": [webhooks.delivery_dict(d) for d in webhooks.deliveries(webhook_id)]}
