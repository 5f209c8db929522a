"""Comparing runs (v1 against v2 of a model): headline metrics side by side, relative deltas against the first run
judged against their noise and the direction of "better", and the settings that differ between the runs.

The pure parts (the default baseline, the noise band, the judgement, the settings diff) take plain values, so
they are tested without a database.
"""
from __future__ import annotations

import math
from typing import Any

from modelwatch.core.config import resolve_config
from modelwatch.core.results.report import compare_metrics, section_of
from modelwatch.errors import BadRequest
from modelwatch.models import ModelArtifact, Run
from modelwatch.run_status import RunStatus
from modelwatch.services.presenters import iso
from modelwatch.services.runs import get_run

MAX_RUNS = 6
# Without a measured interval, changes smaller than this share of the baseline are noise: timings move by a few
# percent between two runs of the same model on a busy machine, scores computed on the same rows do not.
NOISE_RELATIVE = {"performance": 0.05}
NOISE_RELATIVE_DEFAULT = 0.005
HIDDEN = ("explainability.additivity_max_error",)  # a check of the explainer's arithmetic, not of the model
LABELS = {
    "performance.best_throughput_rows_per_s": "best throughput (rows/s)",
    "performance.error_rate": "error rate",
    "performance.load_time_ms": "load time (ms)",
    "performance.peak_memory_mb": "peak memory (MB)",
    "performance.model_size_bytes": "model size (bytes)",
    "robustness.handled_rate": "robustness: share of cases handled (ok or correctly rejected)",
    "robustness.outcomes.crashed": "robustness: cases crashed on valid input",
    "robustness.outcomes.degraded": "robustness: cases silently degraded",
    "quality.roc_auc": "ROC AUC",
    "quality.r2": "R²",
    "quality.rmse": "RMSE",
    "quality.mae": "MAE",
    "quality.mape": "MAPE",
    "quality.f1_macro": "F1 (macro)",
    "quality.log_loss": "log loss",
    "quality.brier": "Brier score",
    "drift.max_abs_prediction_shift": "drift: largest prediction shift",
    "drift.mean_flip_rate": "drift: mean flip rate",
    "drift.max_accuracy_drop": "drift: largest accuracy drop",
    "drift.detected_share": "drift: share of scenarios detected",
    "drift.current_share_drifted": "drift: share of columns drifted in current data",
}


def run_label(run: Run) -> str:
    """A short, unique-enough label: the name and the run id's first characters."""
    return f"{run.name} ({run.id[:6]})"


def choose_baseline(run: dict[str, Any], candidates: list[dict[str, Any]]) -> str | None:
    """The run to compare ``run`` with by default: the latest *earlier*, *succeeded* run of the *same* name.

    Args:
        run: ``{"id", "name", "created_at": datetime}``.
        candidates: runs as ``{"id", "name", "status", "created_at"}`` (any order; ``run`` itself may be among them).

    Returns:
        The baseline's id, or None when the model has no earlier successful run (never a run of another model:
        comparing a churn model with a cancer model says nothing).
    """
    earlier = [c for c in candidates if c["id"] != run["id"] and c["name"] == run["name"]
               and c["status"] == RunStatus.SUCCEEDED and c["created_at"] <= run["created_at"]]
    return max(earlier, key=lambda c: (c["created_at"], c["id"]))["id"] if earlier else None


def interval(result: dict[str, Any] | None, key: str) -> tuple[float, float] | None:
    """The 95% interval the Result holds for a headline metric, if any: the quality metrics' bootstrap intervals
    (``quality.ci``) and the latency percentiles' (``performance.latency_ms.<size>.<stat>_ci``)."""
    section, _, name = key.partition(".")
    found: Any = None
    if section == "quality":
        found = ((section_of(result, "quality") or {}).get("ci") or {}).get(name)
    elif section == "performance" and name.startswith("latency_ms."):
        _, size, stat = name.split(".")
        found = (((section_of(result, "performance") or {}).get("latency_ms") or {}).get(size) or {}).get(f"{stat}_ci")
    if isinstance(found, (list, tuple)) and len(found) == 2 and all(isinstance(v, (int, float)) for v in found):
        return float(found[0]), float(found[1])
    return None


def noise_band(key: str, baseline: float | None, intervals: list[tuple[float, float] | None]) -> float:
    """How far a value may move from the baseline by chance: the two intervals' half-widths added in quadrature
    where the Results have them, and never less than a share of the baseline (``NOISE_RELATIVE``): an interval
    measures the sampling within one run, not the machine's load that differs between two runs."""
    halves = [(high - low) / 2 for low, high in (i for i in intervals if i)]
    share = NOISE_RELATIVE.get(key.partition(".")[0], NOISE_RELATIVE_DEFAULT)
    return max(math.sqrt(sum(h * h for h in halves)), share * abs(baseline or 0.0))


def judge(baseline: float | None, value: float | None, better: str, noise: float) -> str:
    """``better`` or ``worse`` (by the direction of "better" of the metric: ``higher``, ``lower``), ``same`` when
    the change is within ``noise`` or the metric has no better direction, ``n/a`` when a value is missing."""
    if baseline is None or value is None:
        return "n/a"
    delta = value - baseline
    if better == "neutral" or abs(delta) <= max(noise, 1e-12 * max(abs(baseline), 1.0)):
        return "same"
    return "better" if (delta > 0) == (better == "higher") else "worse"


def relative(baseline: float | None, value: float | None) -> float | None:
    """``value`` against ``baseline`` as a fraction (+0.05 is 5% more); None when undefined."""
    if baseline is None or value is None or baseline == 0:
        return None
    return (value - baseline) / abs(baseline)


def judged_metrics(results: list[dict[str, Any] | None]) -> list[dict[str, Any]]:
    """:func:`core.results.report.compare_metrics` rows with, per run, the relative delta, the noise band and a verdict
    that counts a change within the noise as ``same``."""
    rows = [row for row in compare_metrics(results) if row["key"] not in HIDDEN]
    for row in rows:
        row["label"] = LABELS.get(row["key"], row["label"].replace("quality: ", "").replace("_", " "))
        base = row["values"][0]
        base_interval = interval(results[0], row["key"])
        noises = [0.0] + [noise_band(row["key"], base, [base_interval, interval(r, row["key"])])
                          for r in results[1:]]
        row["noise"] = noises
        row["relative"] = [0.0] + [relative(base, v) for v in row["values"][1:]]
        row["verdicts"] = ["baseline"] + [judge(base, v, row["better"], n)
                                          for v, n in zip(row["values"][1:], noises[1:])]
    return rows


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key in sorted(value):
            _flatten(f"{prefix}.{key}" if prefix else str(key), value[key], out)
    else:
        out[prefix] = value


def settings_of(run: dict[str, Any]) -> dict[str, Any]:
    """A run's settings as flat ``key -> value``: the model file, the label column and the resolved config."""
    flat: dict[str, Any] = {"model sha256": (run.get("sha256") or "")[:12], "label column": run.get("target")}
    _flatten("", resolve_config(run.get("config")), flat)
    return flat


def differing_settings(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The settings whose values differ between the runs, as ``[{"key", "values": [one per run]}]``."""
    flats = [settings_of(run) for run in runs]
    keys = sorted({k for flat in flats for k in flat})
    return [{"key": k, "values": [flat.get(k) for flat in flats]} for k in keys
            if len({repr(flat.get(k)) for flat in flats}) > 1]


def compare_runs(run_ids: list[str]) -> dict[str, Any]:
    """Two or more runs, the first being the baseline.

    Returns:
        ``{"runs": [{"id", "label", "name", "sha256", "status", "created_at", "result"}],
        "metrics": [{"key", "label", "better", "values", "deltas", "relative", "noise", "verdicts"}],
        "settings": [{"key", "values"}]}``; a run that failed has no values, a section it skipped leaves its
        values out; ``settings`` lists only what differs.

    Raises:
        BadRequest: fewer than two or more than ``MAX_RUNS`` distinct runs.
        NotFound: one of them does not exist.
    """
    ids = list(dict.fromkeys(run_ids or []))
    if not 2 <= len(ids) <= MAX_RUNS:
        raise BadRequest(f"Pick between 2 and {MAX_RUNS} runs to compare.", {"runs": ids})
    found = [get_run(run_id) for run_id in ids]
    runs = [{"id": r.id, "label": run_label(r), "name": r.name, "sha256": r.artifact.sha256, "status": r.status,
             "created_at": iso(r.created_at), "result": r.result, "config": r.config, "target": r.target}
            for r in found]
    return {"runs": runs, "metrics": judged_metrics([r.result for r in found]), "settings": differing_settings(runs)}


def comparable_runs(limit: int = 200) -> list[dict[str, str]]:
    """Succeeded runs, newest first, as ``{"id", "label"}`` for a picker (a failed or cancelled run has no figures
    to compare)."""
    rows = (Run.query.join(ModelArtifact).filter(Run.status == RunStatus.SUCCEEDED, Run.deleted_at.is_(None))
            .order_by(Run.created_at.desc()).limit(limit).all())
    return [{"id": r.id, "label": f"{run_label(r)} · {iso(r.created_at)[:16].replace('T', ' ')} · "
                                  f"sha256 {r.artifact.sha256[:8]}"} for r in rows]


def _candidate(run: Run) -> dict[str, Any]:
    return {"id": run.id, "name": run.name, "status": run.status, "created_at": run.created_at}


def baseline_for(run_id: str) -> str | None:
    """The default baseline of a stored run (see :func:`choose_baseline`)."""
    run = get_run(run_id)
    same_name = Run.query.filter(Run.name == run.name, Run.status == RunStatus.SUCCEEDED,
                                 Run.deleted_at.is_(None), Run.created_at <= run.created_at).all()
    return choose_baseline(_candidate(run), [_candidate(r) for r in same_name])


def default_pair() -> list[str]:
    """What /compare shows when nothing was picked: the newest succeeded run that has a baseline, with it."""
    newest = (Run.query.filter(Run.status == RunStatus.SUCCEEDED, Run.deleted_at.is_(None))
              .order_by(Run.created_at.desc()).limit(50))
    for run in newest:
        baseline = baseline_for(run.id)
        if baseline:
            return [baseline, run.id]
    return []

