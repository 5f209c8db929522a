"""The Result and the gates verdict as marshmallow schemas: they document CONTRACT.md in the OpenAPI document.

Runs are dumped as stored (``schemas.Document``): these schemas describe the shape, they do not filter it. Every
field may be missing because a section that could not run holds ``{"skipped": "<why>"}`` instead. Each section's
own schema is part of its declaration (``core.sections``); the Result puts them between its frame fields.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from modelwatch.core.results.relative_gates import RELATIVE_OPS
from modelwatch.core.schema.document import SchemaDocument
from modelwatch.core.sections import SECTIONS, Registry
from modelwatch.core.sections.result_schemas import OpenSchema


class DataSchema(OpenSchema):
    n_samples = fields.Integer()
    seed = fields.Integer()
    generator = fields.String()
    assumed_features = fields.List(fields.String(), metadata={
        "description": "features whose distribution was assumed (no sample, no model prior)"})


class SectionTimingSchema(Schema):
    start_s = fields.Float(required=True, metadata={"description": "seconds from the suite's start"})
    seconds = fields.Float(required=True)


class TimingSchema(Schema):
    """Where the run's time went (sections computing together overlap; performance, with latency, runs alone)."""

    total_s = fields.Float(required=True, metadata={"description": "the suite's seconds, after the model was loaded"})
    sections = fields.Dict(keys=fields.String(), values=fields.Nested(SectionTimingSchema), required=True)


VERDICT_STATUSES = ("pass", "warn", "fail", "incomplete")
CHECK_STATUSES = ("pass", "warn", "fail", "not_measured")


class VerdictCheckSchema(Schema):
    section = fields.String(required=True, metadata={"description": "the Result section the check reads"})
    name = fields.String(required=True, metadata={"description": "latency, errors, robustness, beats the baseline, "
                                                                 "drift sensitivity, data realism or gate <name>"})
    status = fields.String(required=True, validate=validate.OneOf(CHECK_STATUSES))
    value = fields.Raw(allow_none=True, metadata={"description": "the measured value (null when not measured)"})
    bound = fields.Raw(allow_none=True, metadata={"description": "the bound it was held to"})
    reason = fields.String(required=True, metadata={"description": "one sentence a person understands"})


class VerdictSchema(Schema):
    """Is this model fit to ship? One traffic light per concern (README: the verdict's rules)."""

    status = fields.String(required=True, validate=validate.OneOf(VERDICT_STATUSES))
    checks = fields.List(fields.Nested(VerdictCheckSchema), required=True)
    reasons = fields.List(fields.String(), required=True, metadata={"description": "every check that did not pass"})


def result_schema(sections: Registry = SECTIONS) -> type[OpenSchema]:
    """The Result's schema: the schema document and the data, every registered section, then the verdict."""
    declared = {
        "schema": fields.Nested(SchemaDocument),
        "data": fields.Nested(DataSchema),
        **{name: fields.Nested(section.schema, allow_none=section.absent is not None)
           for name, section in sections.items()},
        "verdict": fields.Nested(VerdictSchema),
        "timing": fields.Nested(TimingSchema),
    }
    return type("ResultSchema", (OpenSchema,), {"__doc__": "What a succeeded run measured (CONTRACT.md: Result).",
                                                **declared})


ResultSchema = result_schema()


class GateCheckSchema(OpenSchema):
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


class GatesSchema(OpenSchema):
    passed = fields.Boolean(required=True, metadata={"description": "every check passed"})
    checks = fields.List(fields.Nested(GateCheckSchema), required=True)
    baseline_run = fields.String(allow_none=True, metadata={"description": "relative gates: the champion's run "
                                                                          "they compared with (null: no champion)"})
    source = fields.String(validate=validate.OneOf(("config", "default")),
                           metadata={"description": "config.thresholds, or the default gate set when none"})
