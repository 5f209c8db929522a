"""The shape of each Result section as a marshmallow schema: the ``schema`` of its ``Section`` declaration.

They document CONTRACT.md in the OpenAPI document; runs are dumped as stored, so these describe the shape, they do
not filter it. Every field may be missing because a section that could not run holds ``{"skipped": "<why>"}``.
"""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from modelwatch.core.checks.outcomes import OUTCOMES


class OpenSchema(Schema):
    """A response shape that names the fields it promises and allows more (``additionalProperties: true``):
    sections grow new fields without a new contract version, and real Results must validate."""

    class Meta:
        unknown = INCLUDE


class SectionSchema(OpenSchema):
    """A Result section: its fields, or only ``skipped`` when it could not be computed."""

    skipped = fields.String(metadata={"description": "why the section could not run"})


def _number(description: str = "", **kwargs) -> fields.Float:
    return fields.Float(allow_none=True, metadata={"description": description} if description else {}, **kwargs)


class LatencySchema(OpenSchema):
    p50 = _number()
    p95 = _number()
    p99 = _number()
    max = _number()
    mean = _number()
    n_calls = fields.Integer()
    p50_ci = fields.List(fields.Float(), allow_none=True, metadata={
        "description": "95% distribution-free interval of the p50, ms; null while too few calls bound it"})
    p95_ci = fields.List(fields.Float(), allow_none=True, metadata={
        "description": "95% distribution-free interval of the p95, ms; null below 72 calls"})
    precision = _number("the wider relative half-width of the two intervals; null while one is unbounded")
    precision_target = _number("timing stops once precision is at most this")
    stopped_by = fields.String(validate=validate.OneOf(("precision", "budget", "calls")),
                               metadata={"description": "what ended the timing of this batch size"})


class LatencyBudgetSchema(Schema):
    per_batch_size_s = _number("the time budget of each batch size")
    precision_target = _number()
    confidence = _number()
    seconds = _number("what the latency timing took, all batch sizes")


class ErrorGroupSchema(OpenSchema):
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
    latency_budget = fields.Nested(LatencyBudgetSchema)


class RobustnessCaseSchema(OpenSchema):
    name = fields.String()
    feature = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(("ok", "error", "degraded")))
    outcome = fields.String(validate=validate.OneOf(tuple(OUTCOMES)), metadata={
        "description": "rejected: invalid input refused with an error (correct); degraded: answered silently "
                       "wrong; crashed: raised on input valid for the schema"})
    valid = fields.Boolean(metadata={"description": "whether the case's input is valid for the schema"})
    message = fields.String()


class RobustnessSchema(SectionSchema):
    passed = fields.Integer()
    total = fields.Integer()
    outcomes = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "cases per outcome (ok, rejected, degraded, crashed); gates name "
                                                    "them robustness.outcomes.<outcome>"})
    handled_rate = fields.Float(allow_none=True, metadata={
        "description": "share of cases ok or rejected (invalid input refused with an error is correct, never a "
                       "miss); the gate metric robustness.handled_rate. passed / total counts only the ok cases"})
    cases = fields.List(fields.Nested(RobustnessCaseSchema))


class BaselineSchema(Schema):
    strategy = fields.String(metadata={"description": "prior (majority class) or mean"})
    metrics = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                          metadata={"description": "the same metrics as the model's, for the dummy"})


class QualitySchema(SectionSchema):
    task = fields.String()
    n_rows = fields.Integer()
    metrics = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                          metadata={"description": "accuracy, f1_macro, roc_auc, ... or mae, rmse, r2, ..."})
    baseline = fields.Nested(BaselineSchema, metadata={
        "description": "a DummyClassifier (prior) / DummyRegressor (mean) fitted and scored on the same rows"})
    warnings = fields.List(fields.Dict(), metadata={
        "description": "{code, message, ...}: minority_class (< 20% of rows), low_recall (a class's recall under half "
                       "the best class's), near_baseline (balanced accuracy or R² within 0.05 of the baseline's)"})
    class_names = fields.Dict(keys=fields.String(), values=fields.String(),
                              metadata={"description": "config.quality.class_names of the model's classes"})
    cutoffs = fields.Dict(allow_none=True, metadata={
        "description": "binary classifiers: {threshold, tp, fp, tn, fn} lists (~101 cut-offs; score >= threshold "
                       "is positive), default (0.5 or 0) and score (probability or decision score)"})


class ScenarioSchema(OpenSchema):
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
    power = _number("share of power_resamples in which detection flags the scenario")
    power_ci = fields.List(fields.Float(), allow_none=True, metadata={
        "description": "exact (Clopper-Pearson) 95% interval of the power; null without resamples"})
    power_resamples = fields.Integer()


class FalsePositiveRateSchema(OpenSchema):
    overall = _number("share of flagged resamples at severity 0, all drifted features pooled")
    overall_ci = fields.List(fields.Float(), allow_none=True, metadata={
        "description": "exact (Clopper-Pearson) 95% interval of overall"})
    per_feature = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    n_resamples = fields.Integer(metadata={"description": "resamples per feature"})


class DriftColumnSchema(OpenSchema):
    feature = fields.String()
    test = fields.String(allow_none=True)
    statistic = _number()
    p_value = _number()
    drift_detected = fields.Boolean(allow_none=True)


class CurrentDriftSchema(OpenSchema):
    columns = fields.List(fields.Nested(DriftColumnSchema))
    share_drifted = _number()
    dataset_drift = fields.Boolean(allow_none=True)


class DriftSchema(SectionSchema):
    scenarios = fields.List(fields.Nested(ScenarioSchema))
    current = fields.Nested(CurrentDriftSchema, allow_none=True)
    false_positive_rate = fields.Nested(FalsePositiveRateSchema)


class ImportanceSchema(OpenSchema):
    feature = fields.String()
    mean_abs_shap = _number()


class ExplainedSampleSchema(OpenSchema):
    row = fields.Dict()
    prediction = fields.Raw(allow_none=True)
    contributions = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class ExplainabilitySchema(SectionSchema):
    explainer = fields.String(allow_none=True)
    base_value = fields.Raw(allow_none=True)
    additivity_max_error = _number()
    feature_importance = fields.List(fields.Nested(ImportanceSchema), metadata={"description": "largest first"})
    samples = fields.List(fields.Nested(ExplainedSampleSchema))
    rows_source = fields.Dict(metadata={"description": "{name: current | sample | synthetic, note}: which rows "
                                                       "were explained"})
    features = fields.List(fields.Dict(), metadata={"description": "{name, type, categories, min, max, nullable} "
                                                                   "per feature: what the what-if editor accepts"})
