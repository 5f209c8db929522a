"""The History grid's rows: every run with its verdict and one numeric value per headline metric, cheap enough to
rebuild every second.

Results are large (SHAP samples, drift histograms) and never change once a run has finished, so the list
query leaves them out and each finished run's headline figures are computed once per process and kept.
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime
from typing import Any

from modelwatch.core.results.report import headline_metrics
from modelwatch.extensions import db
from modelwatch.figures.format import absolute_time, duration, relative_time
from modelwatch.models import Run, utcnow
from modelwatch.run_status import RunStatus
from modelwatch.services.memo import Memo
from modelwatch.services.presenters import iso
from modelwatch.services.runs import light_runs_query

MAX_ROWS = 500
MARKDOWN_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
# grid field -> headline metric key: one numeric column each (the page says how to show them)
METRIC_FIELDS = {
    "p95_1_ms": "performance.latency_ms.1.p95",
    "throughput": "performance.best_throughput_rows_per_s",
    "error_rate": "performance.error_rate",
    "robustness": "robustness.handled_rate",  # ok or rejected: a correct refusal is no miss
    "accuracy": "quality.accuracy",
    "balanced_accuracy": "quality.balanced_accuracy",
    "roc_auc": "quality.roc_auc",
    "f1_macro": "quality.f1_macro",
    "r2": "quality.r2",
    "rmse": "quality.rmse",
    "mae": "quality.mae",
    "drift_shift": "drift.max_abs_prediction_shift",
}
HEADLINES = Memo(5000)  # finished run id -> its headline (immutable)


def headline_row(result: dict[str, Any] | None) -> dict[str, Any]:
    """A finished run's grid fields read from its Result: the verdict and each metric of ``METRIC_FIELDS``."""
    metrics = headline_metrics(result)
    row: dict[str, Any] = {field: metrics.get(key) for field, key in METRIC_FIELDS.items()}
    verdict = (result or {}).get("verdict")
    row["verdict"] = verdict.get("status") if isinstance(verdict, dict) else None
    return row


def _headlines_of(run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The headline figures of these finished runs: kept ones, the others from their Results read in one query."""
    return HEADLINES.get_many(run_ids, lambda missing: {
        run_id: headline_row(result)
        for run_id, result in db.session.query(Run.id, Run.result).filter(Run.id.in_(missing))})



def markdown_text(text: str) -> str:
    """Text that markdown shows as itself: every ASCII punctuation character backslash-escaped (CommonMark), so a
    name like ``x](https://evil.example) [y`` stays one link to its own run."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\g<0>", text)


def _verdict(run: Run) -> str | None:
    """``pass|warn|fail|incomplete`` once finished (a run that errored is ``error``), None while running."""
    if run.status == RunStatus.FAILED:
        return "error"
    if run.gates and run.status == RunStatus.SUCCEEDED:
        return "pass" if run.gates.get("passed") else "fail"
    return None


def history_rows(limit: int = MAX_ROWS, now: datetime | None = None) -> list[dict[str, Any]]:
    """The newest ``limit`` runs as grid rows (name links to the run page; ``model`` is the plain name the grid
    groups by; ``created_at`` sorts, ``created`` is what a reader sees, ``created_title`` its tooltip)."""
    now = now or utcnow()
    found = light_runs_query().order_by(Run.created_at.desc(), Run.id.desc()).limit(limit).all()
    headlines = _headlines_of([run.id for run in found if run.status == RunStatus.SUCCEEDED])
    rows = []
    for run in found:
        seconds = ((run.finished_at - run.started_at).total_seconds()
                   if run.finished_at and run.started_at else None)
        status = run.status if run.status != RunStatus.RUNNING else f"running {round(100 * (run.progress or 0))}%"
        row = {"id": run.id, "name": f"[{markdown_text(run.name)}](/runs/{run.id})", "model": run.name,
               "tags": ", ".join(run.tags or []), "sha256": run.artifact.sha256[:12], "source": run.source,
               "status": status, "verdict": _verdict(run), "created_at": iso(run.created_at),
               "created": relative_time(run.created_at, now), "created_title": absolute_time(run.created_at),
               "duration_s": round(seconds, 1) if seconds is not None else None, "duration": duration(seconds),
               "n_samples": (run.config or {}).get("n_samples"), "target": run.target,
               **dict.fromkeys(METRIC_FIELDS)}
        row.update({k: v for k, v in headlines.get(run.id, {}).items() if k != "verdict" or v is not None})
        rows.append(row)
    return rows


def group_by_model(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with each model's runs together (models ordered by their newest run, newest run first within),
    each row knowing its group's size and whether it opens the group (``group_first``, for a divider)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:  # rows arrive newest first, so the groups do too
        groups.setdefault(row["model"], []).append(row)
    out = []
    for members in groups.values():
        out += [{**row, "group_size": len(members), "group_first": i == 0} for i, row in enumerate(members)]
    return out


def rows_signature(rows: list[dict[str, Any]]) -> str:
    """A digest of the rows, so that a refresh that changes nothing sends nothing to the browser."""
    return hashlib.sha1(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
