"""The Result and the gates verdict as marshmallow schemas: they document CONTRACT.md in the OpenAPI document.

Runs are dumped as stored (``schemas.Document``): these schemas describe the shape, they do not filter it. Every
field may be missing because a section that could not run holds ``{"skipped": "<why>"}`` instead.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from modelwatch.core.relative_gates import RELATIVE_OPS
from modelwatch.core.schema_doc import SchemaDocument

NUMBER_MAP = {"type": "object", "additionalProperties": {"type": "number"}}


class SectionSchema(Schema):
    """A Result section: its fields, or only ``skipped`` when it could not be computed."""

    skipped = fields.String(metadata={"description": "why the section could not run"})


def _number(description: str = "", **kwargs) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": description} if description else {}, **kwargs)


class LatencySchema(Schema):
    p50 = _number()
    p95 = _number()
    p99 = _number()
    max = _number()
    mean = _number()
    n_calls = fields.Integer()


class ErrorGroupSchema(Schema):
    type = fields.String()
    message = fields.String()
    count = fields.Integer()
    example = fields.Raw(allow_none=True)


class PerformanceSchema(SectionSchema):
    latency_ms = fields.Dict(keys=fields.String(), values=fields.Nested(LatencySchema),
                             metadata={"description": "per batch size"})
    throughput_rows_per_s = fields.Dict(keys=fields.String(), values=fields.Float(), metadata={"description":
                                                                                              "per batch size"})
    load_time_ms = _number()
    model_size_bytes = fields.Integer()
    peak_memory_mb = _number()
    error_rate = _number("share of valid generated rows the model fails on")
    errors = fields.List(fields.Nested(ErrorGroupSchema))


class RobustnessCaseSchema(Schema):
    name = fields.String()
    feature = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(("ok", "error", "degraded")))
    message = fields.String()


class RobustnessSchema(SectionSchema):
    passed = fields.Integer()
    total = fields.Integer()
    cases = fields.List(fields.Nested(RobustnessCaseSchema))


class QualitySchema(SectionSchema):
    task = fields.String()
    n_rows = fields.Integer()
    metrics = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                          metadata={"description": "accuracy, f1_macro, roc_auc, ... or mae, rmse, r2, ..."})


class ScenarioSchema(Schema):
    feature = fields.String(allow_none=True)
    kind = fields.String()
    severity = _number()
    test = fields.String(allow_none=True)
    statistic = _number()
    p_value = _number()
    drift_detected = fields.Boolean(allow_none=True)
    prediction_shift = _number()
    flip_rate = _number()
    accuracy_drop = _number()


class DriftColumnSchema(Schema):
    feature = fields.String()
    test = fields.String(allow_none=True)
    statistic = _number()
    p_value = _number()
    drift_detected = fields.Boolean(allow_none=True)


class CurrentDriftSchema(Schema):
    columns = fields.List(fields.Nested(DriftColumnSchema))
    share_drifted = _number()
    dataset_drift = fields.Boolean(allow_none=True)


class DriftSchema(SectionSchema):
    scenarios = fields.List(fields.Nested(ScenarioSchema))
    current = fields.Nested(CurrentDriftSchema, allow_none=True)


class ImportanceSchema(Schema):
    feature = fields.String()
    mean_abs_shap = _number()


class ExplainedSampleSchema(Schema):
    row = fields.Dict()
    prediction = fields.Raw(allow_none=True)
    contributions = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class ExplainabilitySchema(SectionSchema):
    explainer = fields.String(allow_none=True)
    base_value = fields.Raw(allow_none=True)
    additivity_max_error = _number()
    feature_importance = fields.List(fields.Nested(ImportanceSchema), metadata={"description": "largest first"})
    samples = fields.List(fields.Nested(ExplainedSampleSchema))


class DataSchema(Schema):
    n_samples = fields.Integer()
    seed = fields.Integer()
    generator = fields.String()
    assumed_features = fields.List(fields.String(), metadata={"description": "features generated without knowledge"})


class ResultSchema(Schema):
    """What a succeeded run measured (CONTRACT.md: Result)."""

    schema = fields.Nested(SchemaDocument)
    data = fields.Nested(DataSchema)
    performance = fields.Nested(PerformanceSchema)
    robustness = fields.Nested(RobustnessSchema)
    quality = fields.Nested(QualitySchema, allow_none=True)
    drift = fields.Nested(DriftSchema)
    explainability = fields.Nested(ExplainabilitySchema)


class GateCheckSchema(Schema):
    name = fields.String(required=True, metadata={"description": "e.g. performance.latency_ms.1.p95 <= 50"})
    metric = fields.String(required=True, metadata={"description": "the metric path in the Result"})
    op = fields.String(required=True, validate=validate.OneOf(("min", "max", *RELATIVE_OPS)))
    threshold = fields.Float(required=True)
    value = fields.Float(required=True, allow_none=True, metadata={"description": "null when not measured"})
    baseline_value = fields.Float(allow_none=True, metadata={"description": "relative gates: the champion's value"})
    change = fields.Float(allow_none=True, metadata={"description": "relative gates: the change from the champion"})
    passed = fields.Boolean(required=True)
    message = fields.String(metadata={"description": "why the value is missing (or why a relative gate passed "
                                                     "without a comparison)"})


class GatesSchema(Schema):
    passed = fields.Boolean(required=True, metadata={"description": "every check passed"})
    checks = fields.List(fields.Nested(GateCheckSchema), required=True)
    baseline_run = fields.String(allow_none=True, metadata={"description": "relative gates: the champion's run "
                                                                          "they compared with (null: no champion)"})
    source = fields.String(validate=validate.OneOf(("config", "default")),
                           metadata={"description": "config.thresholds, or the default gate set when none"})
