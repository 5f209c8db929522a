"""marshmallow schemas at the HTTP boundary: they validate requests and generate the OpenAPI document."""
from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.datastructures import FileStorage

from modelwatch.api.result_schemas import GatesSchema, OpenSchema, ResultSchema, VerdictSchema
from modelwatch.core.config import RunConfig
from modelwatch.core.data.synthetic import GENERATORS
from modelwatch.core.drift.scenarios import KINDS as DRIFT_KINDS
from modelwatch.core.schema.document import SchemaDocument
from modelwatch.run_status import RunStatus

RUN_STATUSES = tuple(RunStatus)
MAX_SAMPLES = 100_000
MAX_BATCH = 100_000
MAX_TIMEOUT_S = 3600


class Document(fields.Nested):
    """A nested document dumped as stored: the schema documents it, the service owns its exact content."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs) -> Any:
        return value


class JsonDocument(fields.Nested):
    """A JSON document sent as a multipart text field or a ``.json`` file part, validated by its schema."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> Any:
        value = _json_object(value)
        return None if value is None else super()._deserialize(value, attr, data, **kwargs)


class SchemaDocumentPart(JsonDocument):
    """A Schema document sent as a text field or a ``.json`` file part: parsed here, validated by the service
    (``core.schema.document``), its one validator, so its errors read ``{"features[0].min": [...]}`` on every
    endpoint."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> Any:
        return _json_object(value)


def _json_object(value: Any) -> dict[str, Any] | None:
    """The JSON object of a text field or file part; None when it is empty."""
    if isinstance(value, FileStorage):
        value = value.read()
    if isinstance(value, (str, bytes)):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValidationError(f"Not valid JSON: {exc}.") from exc
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.")
    return value


class DriftFeatures(fields.Field):
    """``"all"`` or a list of feature names."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs) -> Any:
        if value == "all":
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
            return value
        raise ValidationError('Must be "all" or a non-empty list of feature names.')


def _int(low: int, high: int, **kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=low, max=high), **kwargs)


def _positive_float(high: float, **kwargs) -> fields.Float:
    return fields.Float(validate=validate.Range(min=0, max=high, min_inclusive=False), **kwargs)


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class DriftConfigSchema(StrictSchema):
    features = DriftFeatures(metadata={"description": '"all" or a list of feature names',
                                       "oneOf": [{"type": "string", "enum": ["all"]},
                                                 {"type": "array", "items": {"type": "string"}}]})
    kinds = fields.List(fields.String(validate=validate.OneOf(DRIFT_KINDS)), validate=validate.Length(min=1))
    severities = fields.List(_positive_float(10), validate=validate.Length(min=1, max=10),
                             metadata={"description": "drift strength in standard deviations (or shares)"})
    resamples = _int(0, 1000, metadata={"description": "power resamples per scenario"})
    tests = fields.Dict(keys=fields.String(), values=fields.String(),
                        metadata={"description": "test per column or all/numeric/categorical"})
    test_thresholds = fields.Dict(keys=fields.String(), values=fields.Float())
    max_seconds = _positive_float(MAX_TIMEOUT_S, metadata={"description": "time budget of the drift section"})


class ExplainConfigSchema(StrictSchema):
    max_samples = _int(1, 10_000, metadata={"description": "rows explained"})
    background = _int(1, 10_000, metadata={"description": "background rows for the explainer"})
    rows = fields.String(validate=validate.OneOf(("auto", "current", "sample", "synthetic")), metadata={
        "description": "rows explained: auto (current, else sample, else generated; default) or one of them"})


class PerformanceConfigSchema(StrictSchema):
    latency_budget_s = _positive_float(MAX_TIMEOUT_S)
    latency_precision = _positive_float(1, metadata={"description": "stop timing a batch size once its p50 and p95 "
                                                     "95% intervals are this close, relative"})
    error_budget_s = _positive_float(MAX_TIMEOUT_S)


class RobustnessConfigSchema(StrictSchema):
    budget_s = _positive_float(MAX_TIMEOUT_S)


class QualityConfigSchema(StrictSchema):
    n_boot = _int(0, 10_000, metadata={"description": "bootstrap resamples for confidence intervals"})
    class_names = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(max=100)),
                              validate=validate.Length(max=1000),
                              metadata={"description": 'readable class names, e.g. {"0": "malignant", "1": "benign"}'})


class ThresholdSchema(StrictSchema):
    min = fields.Float(metadata={"description": "the metric must be at least this"})
    max = fields.Float(metadata={"description": "the metric must be at most this"})
    max_relative_change = fields.Float(metadata={"description": "at most this relative change from the champion "
                                                                "(0.1: at most 10% higher)"})
    min_relative_change = fields.Float(metadata={"description": "at least this relative change from the champion "
                                                                "(-0.02: at most 2% lower)"})
    max_absolute_change = fields.Float(metadata={"description": "at most this change from the champion's value"})
    min_absolute_change = fields.Float(metadata={"description": "at least this change from the champion's value"})
    baseline = fields.String(validate=validate.OneOf(("champion",)),
                             metadata={"description": "what relative bounds compare with (the model's champion)"})

    @validates_schema
    def _one_bound(self, data: dict, **_kwargs) -> None:
        if not data:
            raise ValidationError('Give "min", "max" or both.')
        if "min" in data and "max" in data and data["min"] > data["max"]:
            raise ValidationError("min is larger than max.")


class ConfigSchema(StrictSchema):
    """A Config document (CONTRACT.md); every field is optional and falls back to its default."""

    n_samples = _int(1, MAX_SAMPLES, metadata={"description": "generated rows"})
    seed = _int(0, 2**32 - 1, metadata={"description": "random seed"})
    generator = fields.String(validate=validate.OneOf(GENERATORS))
    batch_sizes = fields.List(_int(1, MAX_BATCH), validate=validate.Length(min=1, max=10),
                              metadata={"description": "batch sizes timed"})
    drift = fields.Nested(DriftConfigSchema)
    explain = fields.Nested(ExplainConfigSchema)
    timeout_s = fields.Float(validate=validate.Range(min=1, max=MAX_TIMEOUT_S),
                             metadata={"description": "the run's time limit"})
    thresholds = fields.Dict(keys=fields.String(), values=fields.Nested(ThresholdSchema),
                             metadata={"description": "gates: a metric path of the Result -> {min} and/or {max}; "
                                                      "an unknown path gets a 400 listing the valid ones. Default: "
                                                      "performance.error_rate <= 0 and the p95 latency of the "
                                                      "smallest batch size <= 1000 ms"})
    performance = fields.Nested(PerformanceConfigSchema)
    robustness = fields.Nested(RobustnessConfigSchema)
    quality = fields.Nested(QualityConfigSchema)

    @validates_schema
    def _unique_batches(self, data: dict, **_kwargs) -> None:
        sizes = data.get("batch_sizes") or []
        if len(set(sizes)) != len(sizes):
            raise ValidationError("Batch sizes must be distinct.", "batch_sizes")


def _document_defaults(schema: type[Schema], defaults: dict[str, Any]) -> None:
    """Show each option's default in the OpenAPI document, as ``core.config`` declares it (the only place)."""
    for name, field in schema._declared_fields.items():
        if isinstance(field, fields.Nested):
            _document_defaults(field.nested, defaults.get(name) or {})
        elif name in defaults:
            field.metadata["default"] = defaults[name]


_document_defaults(ConfigSchema, RunConfig().to_dict())


class ErrorSchema(OpenSchema):
    code = fields.String(required=True, metadata={"description": "snake_case error code"})
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class ErrorEnvelopeSchema(OpenSchema):
    error = fields.Nested(ErrorSchema, required=True)


class SubmitSchema(StrictSchema):
    """The multipart body of ``POST /run_tests``: file parts and text fields together."""

    model = Upload(required=True, metadata={"description": ".pkl, .pickle, .joblib or .skops model file"})
    schema = SchemaDocumentPart(SchemaDocument,
                                metadata={"description": "a Schema document (JSON text or a .json file)"})
    config = JsonDocument(ConfigSchema, metadata={"description": "a Config document (JSON text or a .json file)"})
    sample = Upload(metadata={"description": "reference rows (CSV)"})
    current = Upload(metadata={"description": "recent real rows to compare with the reference for drift (CSV)"})
    target = fields.String(validate=validate.Length(min=1, max=200),
                           metadata={"description": "the label column of sample and current"})
    name = fields.String(validate=validate.Length(min=1, max=200),
                         metadata={"description": "the model's display name (default: the file name)"})


def _wait_field(still_going: str) -> fields.Float:
    return fields.Float(load_default=0.0, validate=validate.Range(min=0, max=600),
                        metadata={"description": "seconds to wait for the run to finish (0 to 600); the server "
                                                 "caps it (MODELWATCH_MAX_WAIT_S, default 25 s) and answers "
                                                 f"{still_going} when the run is still going"})


class WaitQuerySchema(StrictSchema):
    wait = _wait_field("202 with `Location`")


class FollowQuerySchema(Schema):
    """``GET /api/runs/<id>``: other query parameters (a cache buster) pass, as they always did."""

    class Meta:
        unknown = EXCLUDE

    wait = _wait_field("with the run as it is then")


class IdempotencyHeaderSchema(Schema):
    """Headers of ``POST /run_tests`` (other headers pass untouched)."""

    idempotency_key = fields.String(
        data_key="Idempotency-Key", validate=[validate.Length(min=1, max=200), validate.Regexp(r"^[\x21-\x7e]+$")],
        metadata={"description": "a client-chosen key (printable ASCII, at most 200): the same key within 24 h "
                                 "returns the run it created instead of starting another"})


class ListQuerySchema(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31 - 1))
    cursor = fields.String(validate=validate.Length(min=1, max=200),
                           metadata={"description": "the previous page's `next`: the page after it (replaces offset)"})
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    model = fields.String(validate=validate.Length(min=1, max=200),
                          metadata={"description": "model name or sha256 prefix"})
    tag = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "runs with this tag"})
    source = fields.String(validate=validate.OneOf(("api", "ui")))
    submitted_by = fields.String(validate=validate.Length(min=1, max=100),
                                 metadata={"description": "the name of the token that submitted"})
    created_after = fields.AwareDateTime(default_timezone=UTC,
                                         metadata={"description": "ISO 8601; runs created at or after"})
    created_before = fields.AwareDateTime(default_timezone=UTC,
                                          metadata={"description": "ISO 8601; runs created before"})


class ModelSchema(OpenSchema):
    name = fields.String()
    filename = fields.String()
    sha256 = fields.String()
    format = fields.String()
    size_bytes = fields.Integer()
    type = fields.String(allow_none=True, metadata={"description": "e.g. sklearn.ensemble.RandomForestClassifier"})
    task = fields.String(allow_none=True, metadata={"description": "classification or regression"})
    n_features = fields.Integer(allow_none=True)
    feature_names = fields.List(fields.String(), allow_none=True)
    classes = fields.List(fields.Raw(), allow_none=True)
    intake = fields.Dict(metadata={"description": "allowlist_bypassed / trusted_mode: how the file was loaded"})
    sandbox = fields.Dict(allow_none=True, metadata={"description": "the sandbox protections that were active"})


class LinksSchema(OpenSchema):
    self = fields.String()
    dashboard = fields.String()
    report_html = fields.String()


class RunSchema(OpenSchema):
    id = fields.String(required=True)
    name = fields.String()
    status = fields.String(validate=validate.OneOf(RUN_STATUSES))
    stage = fields.String()
    progress = fields.Float(metadata={"description": "0.0 to 1.0"})
    source = fields.String(validate=validate.OneOf(("api", "ui")))
    submitted_by = fields.String(allow_none=True, metadata={"description": "the name of the token that submitted"})
    tags = fields.List(fields.String())
    created_at = fields.String(metadata={"description": "ISO 8601 UTC"})
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    duration_s = fields.Float(allow_none=True)
    model = fields.Nested(ModelSchema)
    config = Document(ConfigSchema, metadata={"description": "the Config with every default filled in"})
    target = fields.String(allow_none=True)
    error = fields.Nested(ErrorSchema, allow_none=True)
    result = Document(ResultSchema, allow_none=True)
    gates = Document(GatesSchema, allow_none=True, metadata={"description": "config.thresholds checked once the "
                                                                            "run succeeded"})
    verdict = Document(VerdictSchema, allow_none=True, metadata={"description": "fit to ship? once the run has "
                                                                               "finished (absent from lists)"})
    headlines = fields.Dict(keys=fields.String(), values=fields.Dict(), metadata={
        "description": "section name -> a few figures of it, written as soon as that section finishes (while the "
                       "run is still running)"})
    links = fields.Nested(LinksSchema)


class RunEnvelopeSchema(OpenSchema):
    run = fields.Nested(RunSchema, required=True)


class RunSummarySchema(RunSchema):
    class Meta:
        exclude = ("result", "verdict")


class RunListSchema(OpenSchema):
    runs = fields.List(fields.Nested(RunSummarySchema), required=True)
    total = fields.Integer(required=True, metadata={"description": "runs matching the filters"})
    next = fields.String(required=True, allow_none=True,
                         metadata={"description": "cursor of the next page (null on the last page)"})


class HealthSchema(OpenSchema):
    status = fields.String(required=True, metadata={"description": "ok, or degraded when the database is down"})
    version = fields.String(required=True)
    database = fields.String(required=True, metadata={"description": "ok or unavailable"})
    executor = fields.String(required=True, metadata={"description": "inline or celery"})


class LiveSchema(OpenSchema):
    status = fields.String(required=True, metadata={"description": "ok"})
    version = fields.String(required=True)


class QueueStateSchema(OpenSchema):
    queued = fields.Integer(required=True)
    running = fields.Integer(required=True)
    oldest_queued_age_s = fields.Float(required=True, metadata={"description": "0 when nothing is queued"})


class ReadySchema(OpenSchema):
    status = fields.String(required=True, metadata={"description": "ok, or unavailable (503)"})
    version = fields.String(required=True)
    database = fields.String(required=True, metadata={"description": "ok or unavailable"})
    broker = fields.String(required=True, metadata={"description": "ok, unavailable, or none (no broker)"})
    sandbox = fields.String(required=True, metadata={"description": "warm or cold"})
    executor = fields.String(required=True, metadata={"description": "threads, inline or celery"})
    queue = fields.Nested(QueueStateSchema, metadata={"description": "absent when the database is unavailable"})
