"""Light reads of a run for the run page and the per-section API: progress in a few hundred bytes, the Result one
section at a time, the headline and the settings a run used, so no caller ever ships the whole Result."""
from __future__ import annotations

from typing import Any

from modelwatch.core.sections import SECTIONS
from modelwatch.errors import NotFound, RunNotFinished
from modelwatch.extensions import db
from modelwatch.models import Run
from modelwatch.run_status import ACTIVE, RunStatus
from modelwatch.services.presenters import iso, run_verdict
from modelwatch.services.runs import get_run

RESULT_KEYS = ("verdict", "schema", "data", *SECTIONS)  # what GET /api/runs/<id>/result/<section> serves


def progress(run_id: str) -> dict[str, Any]:
    """Status, stage, progress, times, error and the headlines of the sections done, read without the run's Result
    or its files.

    Raises:
        NotFound: no such run.
    """
    row = db.session.execute(
        db.select(Run.id, Run.status, Run.stage, Run.progress, Run.created_at, Run.started_at, Run.finished_at,
                  Run.error, Run.headlines).where(Run.id == run_id)
    ).one_or_none()
    db.session.commit()  # end the read: a poller must see the next commit of the run's writer
    if row is None:
        raise NotFound(f"No run with id {run_id}.", {"id": run_id})
    duration = (row.finished_at - row.started_at).total_seconds() if row.finished_at and row.started_at else None
    return {"id": row.id, "status": row.status, "stage": row.stage, "progress": row.progress,
            "created_at": iso(row.created_at), "started_at": iso(row.started_at),
            "finished_at": iso(row.finished_at), "duration_s": duration, "error": row.error,
            "headlines": row.headlines or {}}


def result_section(run_id: str, name: str) -> Any:
    """One section of a succeeded run's Result (``verdict`` included).

    Raises:
        NotFound: no such run, no such section, or the run failed (it has no Result).
        RunNotFinished: the run is still queued or running.
    """
    if name not in RESULT_KEYS:
        raise NotFound(f"A Result has no section {name!r}; sections: {', '.join(RESULT_KEYS)}.",
                       {"section": name, "valid": list(RESULT_KEYS)})
    run = get_run(run_id)
    if run.status in ACTIVE:
        raise RunNotFinished(f"Run {run_id} has not finished yet ({run.status}).", {"status": run.status})
    if run.status != RunStatus.SUCCEEDED or run.result is None:
        raise NotFound(f"Run {run_id} failed: it has no Result.", {"status": run.status})
    return run_verdict(run) if name == "verdict" else run.result.get(name)


def settings(run: Run) -> dict[str, Any]:
    """What the run was asked to do: its resolved Config, its label column and which files came with it."""
    has_files = db.session.execute(
        db.select(Run.sample_csv.isnot(None), Run.current_csv.isnot(None)).where(Run.id == run.id)
    ).one()
    return {"config": run.config or {}, "target": run.target, "sample": bool(has_files[0]),
            "current": bool(has_files[1])}
