"""Registered models and their monitoring: versions and champion, production batches, late labels, alert rules."""
from __future__ import annotations

from flask_smorest import Blueprint

from modelwatch.api.error_docs import error_responses
from modelwatch.api.model_schemas import (
    AlertRuleSchema,
    BatchListQuerySchema,
    BatchUploadSchema,
    ChampionSchema,
    IdQuerySchema,
    LabelUploadSchema,
    ModelUpdateSchema,
)
from modelwatch.api.monitoring_schemas import (
    AlertsSchema,
    BatchEnvelopeSchema,
    BatchPageSchema,
    LabelsJoinedSchema,
    ModelEnvelopeSchema,
    ModelListSchema,
    RuleEnvelopeSchema,
)
from modelwatch.api.runs import MultipartParser
from modelwatch.services import alerting, monitoring, registry

MULTIPART = "multipart/form-data"


class ModelsBlueprint(Blueprint):
    ARGUMENTS_PARSER = MultipartParser()


blp = ModelsBlueprint("models", __name__, description="Registered models, production batches and alerts")


errors = error_responses(blp)


@blp.route("/api/models", methods=["GET"])
@blp.response(200, ModelListSchema)
@errors(503)
def list_models():
    """Registered models with their versions and champion (without each version's runs)."""
    return {"models": [registry.model_dict(m, with_runs=False) for m in registry.list_models()]}


@blp.route("/api/models/<name>", methods=["GET"])
@blp.response(200, ModelEnvelopeSchema)
@errors(404, 503)
def get_model(name: str):
    """One model: versions, their runs' verdicts, and the champion (`chosen_by`: `user` or `rule`)."""
    return {"model": registry.model_dict(registry.get_model(name))}


@blp.route("/api/models/<name>", methods=["PATCH"])
@blp.arguments(ModelUpdateSchema, error_status_code=400)
@blp.response(200, ModelEnvelopeSchema)
@errors(400, 404, 503)
def update_model(body: dict, name: str):
    """Change a model's description or owner."""
    return {"model": registry.model_dict(registry.update_model(name, **body))}


@blp.route("/api/models/<name>/champion", methods=["POST"])
@blp.arguments(ChampionSchema, error_status_code=400)
@blp.response(200, ModelEnvelopeSchema)
@errors(400, 404, 503)
def set_champion(body: dict, name: str):
    """Choose the champion version (a user's choice beats the rule "latest version whose run passed")."""
    return {"model": registry.model_dict(registry.set_champion(name, body["version"]))}


@blp.route("/api/models/<name>/batches", methods=["POST"])
@blp.arguments(BatchUploadSchema, location="files", content_type=MULTIPART, error_status_code=400)
@blp.response(201, BatchEnvelopeSchema)
@errors(400, 404, 409, 413, 422, 503)
def post_batch(body: dict, name: str):
    """Send a production batch: it is profiled and compared with the champion's reference; raw rows are not kept."""
    upload = body["data"]
    batch = monitoring.ingest_batch(name, upload.read(), upload.filename or "", predict=body["predict"])
    return {"batch": monitoring.batch_dict(batch)}


@blp.route("/api/models/<name>/batches", methods=["GET"])
@blp.arguments(BatchListQuerySchema, location="query", error_status_code=400)
@blp.response(200, BatchPageSchema)
@errors(400, 404, 503)
def list_batches(query: dict, name: str):
    """Batches newest first; `next` is the cursor of the following page (absent on the last one)."""
    batches, cursor = monitoring.list_batches(name, query["limit"], query.get("cursor"))
    page = {"batches": [monitoring.batch_dict(b) for b in batches]}
    if cursor is not None:
        page["next"] = cursor
    return page


@blp.route("/api/models/<name>/labels", methods=["POST"])
@blp.arguments(LabelUploadSchema, location="files", content_type=MULTIPART, error_status_code=400)
@blp.response(200, LabelsJoinedSchema)
@errors(400, 404, 503)
def post_labels(body: dict, name: str):
    """Late labels (`id`, `label` columns): joined by id with the batches' predictions, whose quality is updated."""
    upload = body["data"]
    return monitoring.join_labels(name, upload.read(), upload.filename or "")


@blp.route("/api/models/<name>/alerts", methods=["GET"])
@blp.response(200, AlertsSchema)
@errors(404, 503)
def list_alerts(name: str):
    """The model's alert rules and their latest events."""
    return alerting.alerts_dict(name)


@blp.route("/api/models/<name>/alerts", methods=["POST"])
@blp.arguments(AlertRuleSchema, error_status_code=400)
@blp.response(201, RuleEnvelopeSchema)
@errors(400, 404, 503)
def create_alert(body: dict, name: str):
    """Add a rule: `metric op value` on each batch (or finished run), firing after `consecutive` hits in a row."""
    return {"rule": alerting.rule_dict(alerting.create_rule(name, **body))}


@blp.route("/api/models/<name>/alerts/<int:rule_id>", methods=["DELETE"])
@blp.response(204)
@errors(404, 503)
def delete_alert(name: str, rule_id: int):
    """Delete a rule."""
    alerting.delete_rule(name, rule_id)


@blp.route("/api/models/<name>/alerts", methods=["DELETE"], endpoint="delete_alert_by_query")
@blp.arguments(IdQuerySchema, location="query", error_status_code=400)
@blp.response(204)
@errors(400, 404, 503)
def delete_alert_by_query(query: dict, name: str):
    """Delete a rule named by `?id=` (the same as `DELETE /api/models/<name>/alerts/<id>`)."""
    alerting.delete_rule(name, query["id"])
