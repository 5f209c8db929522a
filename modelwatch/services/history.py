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
from modelwatch.run_status import RunStatus
from modelwatch.services.presenters import iso
from modelwatch.services.runs import light_runs_query

MAX_ROWS = 500
MARKDOWN_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]")
QUALITY_KEYS = ("accuracy", "roc_auc", "f1_macro", "r2", "rmse", "mae")
_CACHE_SIZE = 5000
_headlines: OrderedDict[str, dict[str, Any]] = OrderedDict()  # finished run id -> its headline (immutable)
_lock = threading.Lock()


def _headline(run_id: str) -> dict[str, Any]:
    with _lock:
        if run_id in _headlines:
            _headlines.move_to_end(run_id)
            return _headlines[run_id]
    result = db.session.query(Run.result).filter(Run.id == run_id).scalar()
    metrics = headline_metrics(result)
    quality = next((f"{k} {metrics[f'quality.{k}']:.3f}" for k in QUALITY_KEYS if f"quality.{k}" in metrics), None)
    robust = metrics.get("robustness.pass_rate")
    best = metrics.get("performance.best_throughput_rows_per_s")
    p95 = metrics.get("performance.latency_ms.1.p95")
    row = {"p95_1_ms": round(p95, 3) if p95 is not None else None,
           "throughput": round(best) if best is not None else None, "quality": quality,
           "robustness": round(100 * robust, 1) if robust is not None else None}
    with _lock:
        _headlines[run_id] = row
        while len(_headlines) > _CACHE_SIZE:
            _headlines.popitem(last=False)
    return row


def markdown_text(text: str) -> str:
    """Text that markdown shows as itself: every ASCII punctuation character backslash-escaped (CommonMark), so a
    name like ``x](https://evil.example) [y`` stays one link to its own run."""
    return MARKDOWN_PUNCTUATION.sub(r"\\\g<0>", text)


def history_rows(limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    """The newest ``limit`` runs as grid rows (name links to the run page)."""
    found = light_runs_query().order_by(Run.created_at.desc(), Run.id.desc()).limit(limit).all()
    rows = []
    for run in found:
        duration = ((run.finished_at - run.started_at).total_seconds()
                    if run.finished_at and run.started_at else None)
        status = run.status if run.status != RunStatus.RUNNING else f"running {round(100 * (run.progress or 0))}%"
        row = {"id": run.id, "name": f"[{markdown_text(run.name)}](/runs/{run.id})", "tags": ", ".join(run.tags or []),
               "sha256": run.artifact.sha256[:12], "source": run.source, "status": status,
               "created_at": iso(run.created_at), "duration_s": round(duration, 1) if duration is not None else None,
               "gates": None if not run.gates else ("passed" if run.gates.get("passed") else "failed")}
        row.update(_headline(run.id) if run.status == RunStatus.SUCCEEDED else {})
        rows.append(row)
    return rows


def rows_signature(rows: list[dict[str, Any]]) -> str:
    """A digest of the rows, so that a refresh that changes nothing sends nothing to the browser."""
    return hashlib.sha1(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()
