"""The History grid's rows: every run with its headline figures, cheap enough to rebuild every two seconds.

Results are large (SHAP samples, drift histograms) and never change once a run has finished, so the list
query leaves them out and each finished run's headline figures are computed once per process and kept.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from typing import Any

from modelwatch.core.report import headline_metrics
from modelwatch.extensions import db
from modelwatch.models import Run
from modelwatch.services.presenters import iso
from modelwatch.services.runs import light_runs_query

MAX_ROWS = 500
MARKDOWN_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
QUALITY_KEYS = ("accuracy", "roc_auc", "f1_macro", "r2", "rmse", "mae")
_CACHE_SIZE = 5000
_headlines: OrderedDict[str, dict[str, Any]] = OrderedDict()  # finished run id -> its headline (immutable)
_lock = threading.Lock()


def _headlines_of(run_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The headline figures of these finished runs: kept ones, the others from their Results read in one query."""
    with _lock:
        found = {run_id: _headlines[run_id] for run_id in run_ids if run_id in _headlines}
        for run_id in found:
            _headlines.move_to_end(run_id)
    missing = [run_id for run_id in run_ids if run_id not in found]
    if missing:
        fresh = {run_id: _headline(result)
                 for run_id, result in db.session.query(Run.id, Run.result).filter(Run.id.in_(missing))}
        found.update(fresh)
        with _lock:
            _headlines.update(fresh)
            while len(_headlines) > _CACHE_SIZE:
                _headlines.popitem(last=False)
    return found


def _headline(result: dict[str, Any] | None) -> dict[str, Any]:
    metrics = headline_metrics(result)
    quality = next((f"{k} {metrics[f'quality.{k}']:.3f}" for k in QUALITY_KEYS if f"quality.{k}" in metrics), None)
    robust = metrics.get("robustness.pass_rate")
    best = metrics.get("performance.best_throughput_rows_per_s")
    p95 = metrics.get("performance.latency_ms.1.p95")
    return {"p95_1_ms": round(p95, 3) if p95 is not None else None,
            "throughput": round(best) if best is not None else None, "quality": quality,
            "robustness": round(100 * robust, 1) if robust is not None else None}


def markdown_text(text: str) -> str:
    """Text that markdown shows as itself: every ASCII punctuation character backslash-escaped (CommonMark), so a
    name like ``x](https://evil.example) [y`` stays one link to its own run."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\g<0>", text)


def history_rows(limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    """The newest ``limit`` runs as grid rows (name links to the run page)."""
    found = light_runs_query().order_by(Run.created_at.desc(), Run.id.desc()).limit(limit).all()
    headlines = _headlines_of([run.id for run in found if run.status == "succeeded"])
    rows = []
    for run in found:
        duration = ((run.finished_at - run.started_at).total_seconds()
                    if run.finished_at and run.started_at else None)
        status = run.status if run.status != "running" else f"running {round(100 * (run.progress or 0))}%"
        row = {"id": run.id, "name": f"[{markdown_text(run.name)}](/runs/{run.id})", "tags": ", ".join(run.tags or []),
               "sha256": run.artifact.sha256[:12], "source": run.source, "status": status,
               "created_at": iso(run.created_at), "duration_s": round(duration, 1) if duration is not None else None,
               "gates": None if not run.gates else ("passed" if run.gates.get("passed") else "failed")}
        row.update(headlines.get(run.id, {}))
        rows.append(row)
    return rows


def rows_signature(rows: list[dict[str, Any]]) -> str:
    """A digest of the rows, so that a refresh that changes nothing sends nothing to the browser."""
    return hashlib.sha1(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
