"""The Result's sections, each declared once: ``SECTIONS``, in the Result's order.

Adding a section is one ``Section`` here (with its schema, headline and metric paths) plus one line in each layer
that binds its piece: its ``compute`` in ``core.suite``, its figure builders in ``figures.sections``, its tab in
``dashboard.tabs``; each binding fails at import when a section is missing. The suite, the metrics rows, the
gates, the OpenAPI document, the HTML report and the run page all iterate ``SECTIONS``.
"""
from __future__ import annotations

from modelwatch.core.checks.outcomes import OUTCOMES
from modelwatch.core.results import headlines
from modelwatch.core.sections import metrics
from modelwatch.core.sections import result_schemas as shapes
from modelwatch.core.sections.registry import Registry, RegistryError, Section

__all__ = ["SECTIONS", "Registry", "RegistryError", "Section"]

LATENCY_STATS = ("p50", "p95", "p99", "max", "mean")
CLASSIFICATION_METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro", "roc_auc",
                          "log_loss", "brier")
REGRESSION_METRICS = ("mae", "rmse", "r2", "mape")
QUALITY_METRICS = CLASSIFICATION_METRICS + REGRESSION_METRICS
# the worst value over the drift scenarios (core.results.gates); the drift section uses them for its breaking points
SCENARIO_METRICS = ("prediction_psi", "prediction_shift", "abs_prediction_shift", "flip_rate", "accuracy_drop",
                    "impact")

SECTIONS = Registry([
    Section(
        "performance", "Performance", shapes.PerformanceSchema, headlines.performance_headline,
        metric_paths=(*(f"latency_ms.<batch>.{stat}" for stat in LATENCY_STATS), "throughput_rows_per_s.<batch>",
                      "load_time_ms", "model_size_bytes", "peak_memory_mb", "error_rate"),
        start=1, alone=True,  # latency is timed with nothing else running
        key_metrics=metrics.performance_metrics,
    ),
    Section(
        "robustness", "Robustness", shapes.RobustnessSchema, headlines.robustness_headline,
        # handled_rate: share of cases ok or rejected (a correct refusal is no miss); pass_rate = passed / total
        metric_paths=("handled_rate", *(f"outcomes.{name}" for name in OUTCOMES), "passed", "total", "pass_rate"),
        start=3, needs=("performance",),  # skips the rows the error scan found failing
        key_metrics=metrics.robustness_metrics, detail_rows=metrics.robustness_rows,
    ),
    Section(
        "quality", "Quality", shapes.QualitySchema, headlines.quality_headline,
        metric_paths=("n_rows", *(f"metrics.{m}" for m in QUALITY_METRICS),
                      *(f"current.metrics.{m}" for m in QUALITY_METRICS)),
        start=0, alone=True,  # cheap: the first figures reach the run early
        absent="not computed (quality needs labelled data)", key_metrics=metrics.quality_metrics,
    ),
    Section(
        "drift", "Drift", shapes.DriftSchema, headlines.drift_headline,
        metric_paths=("current.share_drifted", "current.n_drifted", "current.dataset_drift",
                      *(f"current.prediction_drift.{m}" for m in ("prediction_psi", "prediction_shift",
                                                                  "class_share_shift", "flip_rate")),
                      "multivariate.auc", "false_positive_rate.overall",
                      *(f"scenario.{m}" for m in SCENARIO_METRICS)),
        start=2,  # the longest of the shared sections starts first
        key_metrics=metrics.drift_metrics, detail_rows=metrics.drift_rows,
    ),
    Section(
        "explainability", "Explainability", shapes.ExplainabilitySchema,
        headlines.explainability_headline,
        metric_paths=("additivity_max_error",),
        start=4, awaits=("drift",),  # explains the strongest drift scenario, after its own rows
        key_metrics=metrics.explainability_metrics, detail_rows=metrics.explainability_rows,
    ),
])
