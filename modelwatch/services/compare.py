"""Comparing runs (v1 against v2 of a model): headline metrics side by side, deltas against the first run."""
from __future__ import annotations

from typing import Any

from modelwatch.core.report import compare_metrics
from modelwatch.errors import BadRequest
from modelwatch.models import ModelArtifact, Run
from modelwatch.run_status import FINISHED
from modelwatch.services.presenters import iso
from modelwatch.services.runs import get_run

MAX_RUNS = 6


def run_label(run: Run) -> str:
    """A short, unique-enough label: the name and the run id's first characters."""
    return f"{run.name} ({run.id[:6]})"


def compare_runs(run_ids: list[str]) -> dict[str, Any]:
    """Two or more runs, the first being the baseline.

    Returns:
        ``{"runs": [{"id", "label", "name", "sha256", "status", "created_at", "result"}],
        "metrics": [{"key", "label", "better", "values", "deltas", "verdicts"}]}``; a run that failed has no
        values, a section it skipped leaves its values out.

    Raises:
        BadRequest: fewer than two or more than ``MAX_RUNS`` distinct runs.
        NotFound: one of them does not exist.
    """
    ids = list(dict.fromkeys(run_ids or []))
    if not 2 <= len(ids) <= MAX_RUNS:
        raise BadRequest(f"Pick between 2 and {MAX_RUNS} runs to compare.", {"runs": ids})
    found = [get_run(run_id) for run_id in ids]
    runs = [{"id": r.id, "label": run_label(r), "name": r.name, "sha256": r.artifact.sha256, "status": r.status,
             "created_at": iso(r.created_at), "result": r.result} for r in found]
    return {"runs": runs, "metrics": compare_metrics([r.result for r in found])}


def comparable_runs(limit: int = 200) -> list[dict[str, str]]:
    """Finished runs, newest first, as ``{"id", "label"}`` for a picker."""
    rows = (Run.query.join(ModelArtifact).filter(Run.status.in_(FINISHED), Run.deleted_at.is_(None))
            .order_by(Run.created_at.desc()).limit(limit).all())
    return [{"id": r.id, "label": f"{run_label(r)} · {r.status} · {iso(r.created_at)[:16].replace('T', ' ')} · "
                                  f"sha256 {r.artifact.sha256[:8]}"} for r in rows]


def baseline_for(run_id: str) -> str | None:
    """The run to compare this one with: the latest earlier finished run of the same name, else of any name."""
    run = get_run(run_id)
    finished = Run.query.filter(Run.id != run.id, Run.status.in_(FINISHED),
                                Run.created_at <= run.created_at, Run.deleted_at.is_(None))
    same = finished.filter(Run.name == run.name).order_by(Run.created_at.desc()).first()
    other = same or finished.order_by(Run.created_at.desc()).first()
    return other.id if other else None
