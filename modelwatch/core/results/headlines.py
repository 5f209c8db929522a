"""The few figures of a finished section that the run row carries while the others still compute.

The suite streams one headline per section as soon as that section is done (a progress line with ``section``
and ``headline``), so the run page and ``GET /api/runs/<id>`` show the first figures long before the verdict.
Each headline is a small dict of rounded numbers; the section itself arrives with the Result. The builders
below are named by the sections' declarations (``core.sections``).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from modelwatch.core.checks import outcomes
from modelwatch.core.results.jsonable import to_jsonable

MAX_METRICS = 6
FIRST_METRICS = ("accuracy", "roc_auc", "balanced_accuracy", "f1_macro", "r2", "rmse", "mae")  # a reader's first look
TOP_FEATURES = 3


def _num(value: Any) -> float | None:
    """Four significant digits; None for a missing or non-finite value (headlines are strict JSON)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return float(f"{number:.4g}") if math.isfinite(number) else None


def performance_headline(section: dict[str, Any]) -> dict[str, Any]:
    latency = section.get("latency_ms") or {}
    smallest = min(latency, key=int) if latency else None
    stats = latency.get(smallest) or {}
    return {"batch_size": int(smallest) if smallest else None, "p50_ms": _num(stats.get("p50")),
            "p95_ms": _num(stats.get("p95")), "precision": _num(stats.get("precision")),
            "error_rate": _num(section.get("error_rate")), "peak_memory_mb": _num(section.get("peak_memory_mb"))}


def quality_headline(section: dict[str, Any]) -> dict[str, Any]:
    metrics = {name: _num(value) for name, value in (section.get("metrics") or {}).items()
               if isinstance(value, (int, float))}
    first = sorted(metrics, key=lambda name: FIRST_METRICS.index(name) if name in FIRST_METRICS else len(FIRST_METRICS))
    return {"n_rows": section.get("n_rows"), "evaluated_on": section.get("evaluated_on"),
            "metrics": {name: metrics[name] for name in first[:MAX_METRICS]}}


def robustness_headline(section: dict[str, Any]) -> dict[str, Any]:
    found = outcomes.counts(section)
    return {"passed": section.get("passed"), "total": section.get("total"),
            "handled_rate": _num(outcomes.handled_rate(found)), "outcomes": found}


def drift_headline(section: dict[str, Any]) -> dict[str, Any]:
    scenarios = section.get("scenarios") or []
    current = section.get("current") if isinstance(section.get("current"), dict) else {}
    return {"scenarios": len(scenarios), "detected": sum(1 for s in scenarios if s.get("drift_detected")),
            "dataset_drift": current.get("dataset_drift"), "share_drifted": _num(current.get("share_drifted"))}


def explainability_headline(section: dict[str, Any]) -> dict[str, Any]:
    top = (section.get("feature_importance") or [])[:TOP_FEATURES]
    return {"explainer": section.get("explainer"),
            "top_features": [{"feature": str(row.get("feature")), "mean_abs_shap": _num(row.get("mean_abs_shap"))}
                             for row in top]}


def headline(build: Callable[[dict[str, Any]], dict[str, Any]], section: dict[str, Any] | None) -> dict[str, Any]:
    """The headline ``build`` (a section's declared ``headline``) makes of ``section``.

    ``{}`` when the section has nothing to say (e.g. no labels), ``{"skipped"}`` when it or its headline failed.
    """
    if not isinstance(section, dict):
        return {}
    if "skipped" in section:
        return {"skipped": str(section["skipped"])[:200]}
    try:
        return to_jsonable(build(section))  # plain JSON: numpy scalars in a section become numbers
    except Exception as exc:  # noqa: BLE001 - a headline is an extra: the section itself is in the Result
        return {"skipped": f"no headline: {type(exc).__name__}"}
