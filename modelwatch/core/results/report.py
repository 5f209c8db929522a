"""A Result as flat numbers: ``section,metric,value`` rows, headline metrics, and deltas between runs.

Pure functions over the Result dict of CONTRACT.md; every section may be missing, ``None`` or
``{"skipped": why}`` (other sections are built in parallel and change shape), so readers are defensive.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelwatch.core.sections import SECTIONS, Registry

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


def skip_reason(result: dict[str, Any] | None, name: str, sections: Registry = SECTIONS) -> str | None:
    """Why a section holds no figures (None when it has them); ``Section.absent`` when it was not computed."""
    section = (result or {}).get(name)
    if isinstance(section, dict) and "skipped" in section:
        return str(section["skipped"])
    if section is None:
        declared = sections.get(name)
        return (declared.absent if declared else None) or "not computed"
    return None


def headline_metrics(result: dict[str, Any] | None, sections: Registry = SECTIONS) -> dict[str, float]:
    """The numbers a reader compares first, keyed ``section.metric`` (only those the run has).

    Each section names them (``Section.key_metrics``); they come in the order of ``sections``.
    """
    out: dict[str, float] = {}
    for name, declared in sections.items():
        section = section_of(result, name)
        if section:
            out.update({f"{name}.{metric}": value for metric, value in declared.key_metrics(section).items()})
    return out


HIGHER_IS_BETTER = ("throughput", "pass_rate", "handled_rate", "accuracy", "f1", "roc_auc", "auc", "precision",
                    "recall", "r2", "average_precision", "explained_variance", "detected_share")
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
    if name.startswith("outcomes."):
        return f"{section}: cases {name.split('.', 1)[1]}"
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


def metric_rows(result: dict[str, Any] | None, sections: Registry = SECTIONS) -> list[tuple[str, str, Any]]:
    """Every scalar of the Result as ``(section, metric, value)``, the sections in the order of ``sections``;
    a skipped section gives one ``skipped`` row."""
    rows: list[tuple[str, str, Any]] = []
    data = (result or {}).get("data")
    if isinstance(data, dict):
        rows += [("data", k, v) for k, v in data.items() if not isinstance(v, (dict, list))]
    headline = headline_metrics(result, sections)
    for name in sections:
        section = section_of(result, name)
        if section is None:
            rows.append((name, "skipped", skip_reason(result, name, sections)))
            continue
        flat: list[tuple[str, Any]] = []
        _flatten("", section, flat)
        flat += sections[name].detail_rows(section)
        seen = {metric for metric, _ in flat}
        flat += [(k.split(".", 1)[1], v) for k, v in headline.items() if k.startswith(name + ".")
                 and k.split(".", 1)[1] not in seen]
        rows += [(name, metric, value) for metric, value in flat]
    return rows
