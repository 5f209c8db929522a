"""A Result as flat numbers: ``section,metric,value`` rows, headline metrics, and deltas between runs.

Pure functions over the Result dict of CONTRACT.md; every section may be missing, ``None`` or
``{"skipped": why}`` (other sections are built in parallel and change shape), so readers are defensive.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

SECTIONS = ("performance", "robustness", "quality", "drift", "explainability")
# Keys whose content is per-row or per-bin detail (plotted, not tabulated) or debugging text.
DETAIL_KEYS = {"traceback", "latency_quantiles_ms", "curves", "distributions", "samples", "dependence", "cases",
               "scenarios", "breaking_points", "importance_by_class", "feature_importance", "columns", "errors",
               "failed_rows", "reference", "changes", "edges", "counts"}
MAX_TEXT = 200
SAME_RELATIVE = 0.005  # changes under 0.5% of the baseline are "same", not better or worse


@dataclass(frozen=True)
class Metric:
    """A headline metric: where it is, what to call it, and which direction is better."""

    key: str
    label: str
    better: str  # "lower" | "higher"


def section_of(result: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    """The section's dict when it was computed, else None (missing, null or skipped)."""
    section = (result or {}).get(name)
    if not isinstance(section, dict) or "skipped" in section:
        return None
    return section


def skip_reason(result: dict[str, Any] | None, name: str) -> str | None:
    """Why a section holds no figures (None when it has them)."""
    section = (result or {}).get(name)
    if isinstance(section, dict) and "skipped" in section:
        return str(section["skipped"])
    if section is None:
        return "not computed (quality needs labelled data)" if name == "quality" else "not computed"
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _sizes(mapping: dict[str, Any] | None) -> list[str]:
    return sorted((k for k in (mapping or {}) if str(k).isdigit()), key=int)


def headline_metrics(result: dict[str, Any] | None) -> dict[str, float]:
    """The numbers a reader compares first, keyed ``section.metric`` (only those the run has)."""
    out: dict[str, float] = {}
    perf = section_of(result, "performance")
    if perf:
        latency = perf.get("latency_ms") or {}
        sizes = _sizes(latency)
        for size in sizes[:1] + sizes[-1:] if len(sizes) > 1 else sizes:
            for stat in ("p50", "p95"):
                value = _number((latency[size] or {}).get(stat))
                if value is not None:
                    out[f"performance.latency_ms.{size}.{stat}"] = value
        throughput = perf.get("throughput_rows_per_s") or {}
        if _sizes(throughput):
            best = max(_number(v) or 0.0 for v in throughput.values())
            out["performance.best_throughput_rows_per_s"] = best
        for key in ("error_rate", "load_time_ms", "peak_memory_mb", "model_size_bytes"):
            value = _number(perf.get(key))
            if value is not None:
                out[f"performance.{key}"] = value
    robust = section_of(result, "robustness")
    if robust and _number(robust.get("total")):
        out["robustness.pass_rate"] = float(robust.get("passed") or 0) / float(robust["total"])
    quality = section_of(result, "quality")
    for name, value in ((quality or {}).get("metrics") or {}).items():
        if _number(value) is not None:
            out[f"quality.{name}"] = float(value)
    out.update(_drift_headline(section_of(result, "drift")))
    explain = section_of(result, "explainability")
    if explain and _number(explain.get("additivity_max_error")) is not None:
        out["explainability.additivity_max_error"] = float(explain["additivity_max_error"])
    return out


def _drift_headline(drift: dict[str, Any] | None) -> dict[str, float]:
    if not drift:
        return {}
    out: dict[str, float] = {}
    scenarios = [s for s in drift.get("scenarios") or [] if isinstance(s, dict)]
    shifts = [abs(v) for v in (_number(s.get("prediction_shift")) for s in scenarios) if v is not None]
    flips = [v for v in (_number(s.get("flip_rate")) for s in scenarios) if v is not None]
    drops = [v for v in (_number(s.get("accuracy_drop")) for s in scenarios) if v is not None]
    if shifts:
        out["drift.max_abs_prediction_shift"] = max(shifts)
    if flips:
        out["drift.mean_flip_rate"] = sum(flips) / len(flips)
    if drops:
        out["drift.max_accuracy_drop"] = max(drops)
    if scenarios:
        out["drift.detected_share"] = sum(bool(s.get("drift_detected")) for s in scenarios) / len(scenarios)
    current = drift.get("current")
    if isinstance(current, dict) and _number(current.get("share_drifted")) is not None:
        out["drift.current_share_drifted"] = float(current["share_drifted"])
    return out


HIGHER_IS_BETTER = ("throughput", "pass_rate", "accuracy", "f1", "roc_auc", "auc", "precision", "recall", "r2",
                    "average_precision", "explained_variance", "detected_share")
NEUTRAL = ("model_size_bytes",)


LOWER_IS_BETTER = ("accuracy_drop", "log_loss", "brier", "flip_rate", "prediction_shift", "error", "latency",
                   "load_time", "memory", "mae", "mse", "rmse", "mape", "share_drifted")


def direction(key: str) -> str:
    """``higher`` or ``lower`` is better for this headline key (``neutral`` when neither is)."""
    name = key.split(".", 1)[-1]
    if any(name == n or name.endswith(n) for n in NEUTRAL):
        return "neutral"
    if any(n in name for n in LOWER_IS_BETTER):
        return "lower"
    return "higher" if any(h in name for h in HIGHER_IS_BETTER) else "lower"


def label(key: str) -> str:
    """A short human label for a headline key."""
    section, _, name = key.partition(".")
    if name.startswith("latency_ms."):
        _, size, stat = name.split(".")
        return f"latency {stat}, batch {size} (ms)"
    return f"{section}: {name.replace('_', ' ')}"


def verdict(baseline: float | None, value: float | None, better: str) -> str:
    """``better``, ``worse`` or ``same`` for ``value`` against ``baseline`` (``n/a`` when either is missing)."""
    if baseline is None or value is None:
        return "n/a"
    delta = value - baseline
    scale = max(abs(baseline), 1e-12)
    if better == "neutral" or abs(delta) <= SAME_RELATIVE * scale:
        return "same"
    return "better" if (delta > 0) == (better == "higher") else "worse"


def compare_metrics(results: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """One row per headline metric found in any run: values, deltas and verdicts against the first run.

    Returns:
        ``[{"key", "label", "better", "values": [...], "deltas": [...], "verdicts": [...]}]``; ``deltas[0]``
        and ``verdicts[0]`` belong to the baseline (``0.0`` / ``"baseline"``); missing values are None.
    """
    per_run = [headline_metrics(r) for r in results]
    keys: list[str] = []
    for metrics in per_run:
        keys += [k for k in metrics if k not in keys]
    rows = []
    for key in keys:
        values = [m.get(key) for m in per_run]
        base, better = values[0], direction(key)
        deltas = [None if v is None or base is None else v - base for v in values]
        verdicts = ["baseline"] + [verdict(base, v, better) for v in values[1:]]
        rows.append({"key": key, "label": label(key), "better": better, "values": values, "deltas": deltas,
                     "verdicts": verdicts})
    return rows


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in DETAIL_KEYS:
                continue
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    elif isinstance(value, list):
        if len(value) <= 4 and all(not isinstance(v, (dict, list)) for v in value):
            for i, inner in enumerate(value):
                out.append((f"{prefix}.{i}", inner))
    elif isinstance(value, str):
        out.append((prefix, value[:MAX_TEXT]))
    elif value is None or isinstance(value, (bool, int, float)):
        out.append((prefix, value))


def _keyed_rows(name: str, section: dict[str, Any]) -> list[tuple[str, Any]]:
    """Per-feature and per-case detail that reads well as rows (the generic walk skips lists)."""
    rows: list[tuple[str, Any]] = []
    if name == "explainability":
        for entry in section.get("feature_importance") or []:
            rows.append((f"importance.{entry.get('feature')}", entry.get("mean_abs_shap")))
    elif name == "robustness":
        counts: dict[str, int] = {}
        for case in section.get("cases") or []:
            counts[str(case.get("status"))] = counts.get(str(case.get("status")), 0) + 1
        rows += [(f"cases.{status}", count) for status, count in sorted(counts.items())]
    elif name == "drift":
        for s in section.get("scenarios") or []:
            stem = f"scenario.{s.get('feature')}.{s.get('kind')}.{s.get('severity')}"
            rows += [(f"{stem}.{k}", s.get(k)) for k in ("drift_detected", "p_value", "prediction_shift",
                                                         "flip_rate", "accuracy_drop") if k in s]
        for col in ((section.get("current") or {}).get("columns") or []):
            rows += [(f"current.{col.get('feature')}.{k}", col.get(k)) for k in ("p_value", "drift_detected")]
    return rows


def metric_rows(result: dict[str, Any] | None) -> list[tuple[str, str, Any]]:
    """Every scalar of the Result as ``(section, metric, value)``; a skipped section gives one ``skipped`` row."""
    rows: list[tuple[str, str, Any]] = []
    data = (result or {}).get("data")
    if isinstance(data, dict):
        rows += [("data", k, v) for k, v in data.items() if not isinstance(v, (dict, list))]
    headline = headline_metrics(result)
    for name in SECTIONS:
        section = section_of(result, name)
        if section is None:
            rows.append((name, "skipped", skip_reason(result, name)))
            continue
        flat: list[tuple[str, Any]] = []
        _flatten("", section, flat)
        flat += _keyed_rows(name, section)
        seen = {metric for metric, _ in flat}
        flat += [(k.split(".", 1)[1], v) for k, v in headline.items() if k.startswith(name + ".")
                 and k.split(".", 1)[1] not in seen]
        rows += [(name, metric, value) for metric, value in flat]
    return rows
