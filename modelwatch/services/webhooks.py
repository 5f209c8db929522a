"""Webhooks as use cases: register an allowed destination, queue an event's deliveries, and send them from a
background thread (signed, retried with exponential backoff, every attempt in the delivery log)."""
from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from flask import Flask, current_app

from modelwatch.core.monitoring import webhooks as core
from modelwatch.errors import Forbidden, NotFound
from modelwatch.extensions import db
from modelwatch.models import utcnow
from modelwatch.models_monitoring import Webhook, WebhookDelivery

POOL_KEY = "modelwatch_webhooks"
MAX_ERROR_CHARS = 500


def _allowlist() -> list[str]:
    return list(current_app.config.get("WEBHOOK_ALLOWLIST") or [])


def create_webhook(url: str, *, secret: str | None = None, format: str = "json",
                   model: str | None = None) -> tuple[Webhook, str]:
    """Register a destination the admin's allowlist permits.

    Returns:
        The webhook and its secret (shown once: the API never returns it again).

    Raises:
        Forbidden: the URL matches no prefix of ``MODELWATCH_WEBHOOK_ALLOWLIST``.
    """
    if not core.destination_allowed(url, _allowlist()):
        raise Forbidden("This webhook destination is not on the allowlist an admin set "
                        "(MODELWATCH_WEBHOOK_ALLOWLIST).", {"url": url})
    secret = secret or secrets.token_hex(24)
    hook = Webhook(url=url, secret=secret, format=format, model_name=model)
    db.session.add(hook)
    db.session.commit()
    return hook, secret


def list_webhooks() -> list[Webhook]:
    return Webhook.query.order_by(Webhook.id).all()


def get_webhook(webhook_id: int) -> Webhook:
    hook = db.session.get(Webhook, webhook_id) if 0 < webhook_id < 2**31 else None
    if hook is None:
        raise NotFound(f"No webhook {webhook_id}.", {"id": webhook_id})
    return hook


def delete_webhook(webhook_id: int) -> None:
    db.session.delete(get_webhook(webhook_id))
    db.session.commit()


def webhook_dict(hook: Webhook) -> dict[str, Any]:
    return {"id": hook.id, "url": hook.url, "format": hook.format, "model": hook.model_name,
            "created_at": hook.created_at.isoformat() + "Z"}


def delivery_dict(delivery: WebhookDelivery) -> dict[str, Any]:
    return {"id": delivery.id, "event_id": delivery.event_id, "status": delivery.status,
            "attempts": delivery.attempts, "last_status_code": delivery.last_status_code,
            "last_error": delivery.last_error, "created_at": delivery.created_at.isoformat() + "Z",
            "finished_at": delivery.finished_at.isoformat() + "Z" if delivery.finished_at else None}


def deliveries(webhook_id: int, limit: int = 100) -> list[WebhookDelivery]:
    get_webhook(webhook_id)
    return (WebhookDelivery.query.filter_by(webhook_id=webhook_id).order_by(WebhookDelivery.id.desc())
            .limit(limit).all())


def recent_for_model(model_name: str, limit: int = 20) -> list[tuple[Webhook, WebhookDelivery]]:
    """The latest deliveries of the webhooks that receive this model's alerts (the monitoring page's log)."""
    return (db.session.query(Webhook, WebhookDelivery).join(WebhookDelivery, WebhookDelivery.webhook_id == Webhook.id)
            .filter(db.or_(Webhook.model_name.is_(None), Webhook.model_name == model_name))
            .order_by(WebhookDelivery.id.desc()).limit(limit).all())


def queue(event_id: int, model_name: str, payload: dict[str, Any]) -> list[int]:
    """Add a pending delivery of the event to every webhook for this model (the caller commits)."""
    hooks = Webhook.query.filter(db.or_(Webhook.model_name.is_(None), Webhook.model_name == model_name)).all()
    rows = [WebhookDelivery(webhook_id=h.id, event_id=event_id, body=core.body(payload, h.format).decode())
            for h in hooks]
    db.session.add_all(rows)
    db.session.flush()
    return [row.id for row in rows]


def _pool(app: Flask) -> ThreadPoolExecutor:
    pool = app.extensions.get(POOL_KEY)
    if pool is None:
        pool = app.extensions.setdefault(POOL_KEY, ThreadPoolExecutor(2, thread_name_prefix="webhooks"))
    return pool


def dispatch(delivery_ids: list[int]) -> None:
    """Send committed deliveries in the background: the request that caused them never waits for a receiver."""
    if not delivery_ids:
        return
    app = current_app._get_current_object()
    for delivery_id in delivery_ids:
        _pool(app).submit(_deliver_in_context, app, delivery_id)


def _deliver_in_context(app: Flask, delivery_id: int) -> None:
    with app.app_context():
        try:
            deliver(delivery_id)
        except Exception:  # a background thread has nobody to raise to: log it
            app.logger.exception("webhook delivery %s failed", delivery_id)


def deliver(delivery_id: int) -> WebhookDelivery:
    """Try a delivery until a 2xx answer or ``WEBHOOK_MAX_ATTEMPTS``, waiting ``WEBHOOK_BACKOFF_S * 2**(n-1)``
    after failure n; each attempt is signed afresh (a new timestamp) and recorded."""
    config = current_app.config
    delivery = db.session.get(WebhookDelivery, delivery_id)
    hook = db.session.get(Webhook, delivery.webhook_id)
    body = delivery.body.encode()
    for attempt in range(1, int(config["WEBHOOK_MAX_ATTEMPTS"]) + 1):
        delivery.attempts = attempt
        if not core.destination_allowed(hook.url, _allowlist()):  # the admin may have narrowed the list since
            delivery.status, delivery.last_error = "failed", "destination no longer on the allowlist"
            break
        stamp = int(time.time())
        headers = {"Content-Type": "application/json", core.TIMESTAMP_HEADER: str(stamp),
                   core.SIGNATURE_HEADER: core.sign(hook.secret, stamp, body), "User-Agent": "modelwatch-webhooks"}
        try:
            answer = requests.post(hook.url, data=body, headers=headers, timeout=config["WEBHOOK_TIMEOUT_S"],
                                   allow_redirects=False)
            delivery.last_status_code, delivery.last_error = answer.status_code, None
            if 200 <= answer.status_code < 300:
                delivery.status = "delivered"
                break
            delivery.last_error = f"HTTP {answer.status_code}"
        except requests.RequestException as exc:
            delivery.last_status_code, delivery.last_error = None, str(exc)[:MAX_ERROR_CHARS]
        delivery.status = "failed" if attempt == config["WEBHOOK_MAX_ATTEMPTS"] else "retrying"
        db.session.commit()
        if delivery.status == "retrying":
            time.sleep(float(config["WEBHOOK_BACKOFF_S"]) * 2 ** (attempt - 1))
    delivery.finished_at = utcnow()
    db.session.commit()
    return delivery
