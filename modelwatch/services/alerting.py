"""Alert rules as use cases: create, list, delete, and evaluate them on each batch or finished run of a model."""
from __future__ import annotations

from collections.abc import Collection
from typing import Any

from modelwatch.core.monitoring import alerts
from modelwatch.core.results.gates import lookup
from modelwatch.errors import NotFound
from modelwatch.extensions import db
from modelwatch.models import Run
from modelwatch.models_monitoring import AlertEvent, AlertRule, MonitorBatch, RegisteredModel
from modelwatch.services import registry, webhooks

RECENT_EVENTS = 50
LATE_METRICS = ("quality.",)  # batch metrics known only once labels arrive (they may come later)


def create_rule(name: str, *, metric: str, op: str, value: Any, source: str = "batch",
                consecutive: int = 1) -> AlertRule:
    model = registry.get_model(name)
    rule = AlertRule(model_id=model.id, metric=metric, op=op, value=value, source=source, consecutive=consecutive)
    db.session.add(rule)
    db.session.commit()
    return rule


def delete_rule(name: str, rule_id: int) -> None:
    model = registry.get_model(name)
    rule = AlertRule.query.filter_by(id=rule_id, model_id=model.id).one_or_none() if 0 < rule_id < 2**31 else None
    if rule is None:
        raise NotFound(f"Model {name!r} has no alert rule {rule_id}.", {"id": rule_id})
    db.session.delete(rule)
    db.session.commit()


def rule_dict(rule: AlertRule) -> dict[str, Any]:
    return {"id": rule.id, "metric": rule.metric, "op": rule.op, "value": rule.value, "source": rule.source,
            "consecutive": rule.consecutive, "firing": rule.firing, "created_at": rule.created_at.isoformat() + "Z"}


def event_dict(event: AlertEvent) -> dict[str, Any]:
    return {"id": event.id, "rule_id": event.rule_id, "batch_id": event.batch_id, "run_id": event.run_id,
            "value": event.value, "message": event.message, "created_at": event.created_at.isoformat() + "Z"}


def alerts_dict(name: str) -> dict[str, Any]:
    model = registry.get_model(name)
    rules = AlertRule.query.filter_by(model_id=model.id).order_by(AlertRule.id).all()
    events = (AlertEvent.query.filter_by(model_id=model.id).order_by(AlertEvent.id.desc())
              .limit(RECENT_EVENTS).all())
    return {"rules": [rule_dict(r) for r in rules], "events": [event_dict(e) for e in events]}


def evaluate(model: RegisteredModel, source: str, document: dict[str, Any], *, batch_id: int | None = None,
             run_id: str | None = None, late_only: bool = False, skip: Collection[int] = ()) -> list[int]:
    """Step every rule of this source on the document; rules that start firing record an event and queue a
    delivery to each matching webhook. The caller commits, then hands the returned ids to ``webhooks.dispatch``.

    A batch's quality needs labels, which may come later (``on_late_labels``): a quality rule is not stepped on
    a batch without them (unknown is not "fine", so the streak is kept), and ``late_only`` steps only those.

    Returns:
        The ids of the queued webhook deliveries.
    """
    deliveries: list[int] = []
    for rule in AlertRule.query.filter_by(model_id=model.id, source=source).order_by(AlertRule.id):
        late = source == "batch" and rule.metric.startswith(LATE_METRICS)
        if (late_only and not late) or rule.id in skip:
            continue
        value = lookup(document, rule.metric)
        if late and value is None:
            continue  # no labels for this batch yet
        condition = alerts.holds(value, rule.op, rule.value)
        rule.streak, rule.firing, fire = alerts.step(rule.streak, rule.firing, condition, rule.consecutive)
        if not fire:
            continue
        message = alerts.describe(rule.metric, rule.op, rule.value, value, rule.consecutive)
        event = AlertEvent(rule_id=rule.id, model_id=model.id, batch_id=batch_id, run_id=run_id,
                           value=value if isinstance(value, (int, float, str, bool)) else None, message=message)
        db.session.add(event)
        db.session.flush()
        payload = {"event": "alert", "model": model.name, "rule": rule_dict(rule), **event_dict(event)}
        deliveries += webhooks.queue(event.id, model.name, payload)
    return deliveries


def on_late_labels(model: RegisteredModel, batches: list[MonitorBatch]) -> list[int]:
    """Labels arrived for batches already received: step the model's quality rules on each (oldest first), as
    if the labels had come with the batch; a rule that already fired on a batch is not stepped on it again.
    The caller commits, then hands the returned ids to ``webhooks.dispatch``."""
    deliveries: list[int] = []
    for batch in sorted(batches, key=lambda b: (b.batch_time, b.id)):
        fired = {rule_id for (rule_id,) in db.session.query(AlertEvent.rule_id).filter_by(batch_id=batch.id)}
        deliveries += evaluate(model, "batch", batch.summary, batch_id=batch.id, late_only=True, skip=fired)
    return deliveries


def on_run_finished(run: Run) -> None:
    """Evaluate the ``run`` rules of the registered model named like the run (if any) on its Result and verdict."""
    model = RegisteredModel.query.filter_by(name=run.name).one_or_none()
    if model is None:
        return
    document = {**(run.result or {}), "gates": run.gates, "status": run.status,
                "verdict": {**((run.result or {}).get("verdict") or {}), "status": registry.run_verdict(run)}}
    queued = evaluate(model, "run", document, run_id=run.id)
    db.session.commit()
    webhooks.dispatch(queued)
