"""What each section adds to a Result's flat metrics (``core.results.report``): the numbers a reader compares
first, and the per-feature or per-case rows that the generic walk of ``metrics.csv`` skips. Named by the section
declarations.

Each function reads a computed section (never skipped or None) and returns keys without the section's prefix.
"""
from __future__ import annotations

import math
from typing import Any

from modelwatch.core.checks import outcomes


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (booleans, text, NaN and infinities are not metrics)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _sizes(mapping: dict[str, Any] | None) -> list[str]:
    return sorted((k for k in (mapping or {}) if str(k).isdigit()), key=int)


def no_key_metrics(section: dict[str, Any]) -> dict[str, float]:
    """For a section whose numbers are all in its generic rows."""
    return {}


def no_detail_rows(section: dict[str, Any]) -> list[tuple[str, Any]]:
    """For a section without per-feature or per-case detail."""
    return []


def performance_metrics(perf: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    latency = perf.get("latency_ms") or {}
    sizes = _sizes(latency)
    for size in sizes[:1] + sizes[-1:] if len(sizes) > 1 else sizes:
        for stat in ("p50", "p95"):
            value = number((latency[size] or {}).get(stat))
            if value is not None:
                out[f"latency_ms.{size}.{stat}"] = value
    throughput = perf.get("throughput_rows_per_s") or {}
    if _sizes(throughput):
        out["best_throughput_rows_per_s"] = max(number(v) or 0.0 for v in throughput.values())
    for key in ("error_rate", "load_time_ms", "peak_memory_mb", "model_size_bytes"):
        value = number(perf.get(key))
        if value is not None:
            out[key] = value
    return out


def robustness_metrics(robust: dict[str, Any]) -> dict[str, float]:
    """The share of cases handled (ok or rejected: a correct refusal is no miss), and the misses by outcome."""
    found = outcomes.counts(robust)
    rate = outcomes.handled_rate(found)
    if rate is None:
        return {}
    return {"handled_rate": rate, **{f"outcomes.{name}": float(found[name]) for name in outcomes.MISSES}}


def robustness_rows(robust: dict[str, Any]) -> list[tuple[str, Any]]:
    """Cases per outcome for Results stored before ``outcomes`` existed (the generic walk has them otherwise)."""
    if isinstance(robust.get("outcomes"), dict):
        return []
    return [(f"outcomes.{name}", count) for name, count in outcomes.counts(robust).items()]


def quality_metrics(quality: dict[str, Any]) -> dict[str, float]:
    return {name: float(value) for name, value in (quality.get("metrics") or {}).items()
            if number(value) is not None}


def drift_metrics(drift: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    scenarios = [s for s in drift.get("scenarios") or [] if isinstance(s, dict)]
    shifts = [abs(v) for v in (number(s.get("prediction_shift")) for s in scenarios) if v is not None]
    flips = [v for v in (number(s.get("flip_rate")) for s in scenarios) if v is not None]
    drops = [v for v in (number(s.get("accuracy_drop")) for s in scenarios) if v is not None]
    if shifts:
        out["max_abs_prediction_shift"] = max(shifts)
    if flips:
        out["mean_flip_rate"] = sum(flips) / len(flips)
    if drops:
        out["max_accuracy_drop"] = max(drops)
    if scenarios:
        out["detected_share"] = sum(bool(s.get("drift_detected")) for s in scenarios) / len(scenarios)
    current = drift.get("current")
    if isinstance(current, dict) and number(current.get("share_drifted")) is not None:
        out["current_share_drifted"] = float(current["share_drifted"])
    return out


def drift_rows(drift: dict[str, Any]) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for s in drift.get("scenarios") or []:
        stem = f"scenario.{s.get('feature')}.{s.get('kind')}.{s.get('severity')}"
        rows += [(f"{stem}.{k}", s.get(k)) for k in ("drift_detected", "p_value", "prediction_shift",
                                                     "flip_rate", "accuracy_drop") if k in s]
    for col in ((drift.get("current") or {}).get("columns") or []):
        rows += [(f"current.{col.get('feature')}.{k}", col.get(k)) for k in ("p_value", "drift_detected")]
    return rows


def explainability_metrics(explain: dict[str, Any]) -> dict[str, float]:
    value = number(explain.get("additivity_max_error"))
    return {} if value is None else {"additivity_max_error": value}


def explainability_rows(explain: dict[str, Any]) -> list[tuple[str, Any]]:
    return [(f"importance.{entry.get('feature')}", entry.get("mean_abs_shap"))
            for entry in explain.get("feature_importance") or []]
