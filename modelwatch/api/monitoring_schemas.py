"""Response bodies of the registered-model, batch, alert and webhook endpoints, for the OpenAPI document.

The services build these dicts; the envelopes dump them as they are (``schemas.Document``) and the shapes below
document them, open to more fields (``additionalProperties: true``) like the Result's.
"""
from __future__ import annotations

from marshmallow import fields, validate

from modelwatch.api.result_schemas import OpenSchema
from modelwatch.api.schemas import Document

ISO = {"description": "ISO 8601 UTC"}


class RunBriefSchema(OpenSchema):
    id = fields.String(required=True)
    status = fields.String(required=True)
    verdict = fields.Raw(allow_none=True, metadata={"description": "pass, warn or fail once the run has finished"})
    created_at = fields.String(metadata=ISO)


class ModelVersionSchema(OpenSchema):
    number = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    format = fields.String()
    has_reference = fields.Boolean(metadata={"description": "a reference sample is kept for monitoring"})
    target = fields.String(allow_none=True)
    created_at = fields.String(metadata=ISO)
    champion = fields.Boolean()
    runs = fields.List(fields.Nested(RunBriefSchema), metadata={"description": "absent from the list of models"})


class ChampionStateSchema(OpenSchema):
    version = fields.Integer(required=True)
    chosen_by = fields.String(validate=validate.OneOf(("user", "rule")))


class RegisteredModelSchema(OpenSchema):
    name = fields.String(required=True)
    description = fields.String(allow_none=True)
    owner = fields.String(allow_none=True)
    created_at = fields.String(metadata=ISO)
    versions = fields.List(fields.Nested(ModelVersionSchema), required=True)
    champion = fields.Nested(ChampionStateSchema, allow_none=True)


class ModelListSchema(OpenSchema):
    models = fields.List(Document(RegisteredModelSchema), required=True)


class ModelEnvelopeSchema(OpenSchema):
    model = Document(RegisteredModelSchema, required=True)


class BatchSchema(OpenSchema):
    id = fields.Integer(required=True)
    batch_time = fields.String(required=True, metadata=ISO)
    received_at = fields.String(metadata=ISO)
    n_rows = fields.Integer()
    drift = fields.Raw(metadata={"description": "per-feature drift against the champion's reference"})
    missing = fields.Raw(allow_none=True, metadata={"description": "missing-value shares"})
    prediction = fields.Raw(allow_none=True, metadata={"description": "the predictions' summary and drift"})
    quality = fields.Raw(allow_none=True, metadata={"description": "metrics, once labels have been joined"})


class BatchEnvelopeSchema(OpenSchema):
    batch = Document(BatchSchema, required=True)


class BatchPageSchema(OpenSchema):
    batches = fields.List(Document(BatchSchema), required=True)
    next = fields.Integer(metadata={"description": "cursor of the next page (absent on the last page)"})


class LabelsJoinedSchema(OpenSchema):
    matched = fields.Integer(required=True)
    unmatched = fields.Integer(required=True)
    batches = fields.List(fields.Integer(), required=True, metadata={"description": "batches whose quality changed"})


class AlertRuleStateSchema(OpenSchema):
    id = fields.Integer(required=True)
    metric = fields.String(required=True)
    op = fields.String()
    value = fields.Raw(allow_none=True)
    source = fields.String(validate=validate.OneOf(("batch", "run")))
    consecutive = fields.Integer()
    firing = fields.Boolean()
    created_at = fields.String(metadata=ISO)


class AlertEventSchema(OpenSchema):
    id = fields.Integer(required=True)
    rule_id = fields.Integer(allow_none=True)
    batch_id = fields.Integer(allow_none=True)
    run_id = fields.String(allow_none=True)
    value = fields.Raw(allow_none=True)
    message = fields.String()
    created_at = fields.String(metadata=ISO)


class AlertsSchema(OpenSchema):
    rules = fields.List(Document(AlertRuleStateSchema), required=True)
    events = fields.List(Document(AlertEventSchema), required=True, metadata={"description": "newest first"})


class RuleEnvelopeSchema(OpenSchema):
    rule = Document(AlertRuleStateSchema, required=True)


class WebhookInfoSchema(OpenSchema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    format = fields.String()
    model = fields.String(allow_none=True, metadata={"description": "only this model's alerts; null: every model"})
    created_at = fields.String(metadata=ISO)
    secret = fields.String(metadata={"description": "the signing secret, in the answer that creates the webhook only"})


class WebhookListSchema(OpenSchema):
    webhooks = fields.List(Document(WebhookInfoSchema), required=True)


class WebhookEnvelopeSchema(OpenSchema):
    webhook = Document(WebhookInfoSchema, required=True)


class DeliverySchema(OpenSchema):
    id = fields.Integer(required=True)
    event_id = fields.Integer(allow_none=True)
    status = fields.String(validate=validate.OneOf(("pending", "retrying", "delivered", "failed")))
    attempts = fields.Integer()
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.String(metadata=ISO)
    finished_at = fields.String(allow_none=True, metadata=ISO)


class DeliveryListSchema(OpenSchema):
    deliveries = fields.List(Document(DeliverySchema), required=True, metadata={"description": "newest first"})
