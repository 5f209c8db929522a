"""The contract's JSON shapes of stored rows (CONTRACT.md: Run)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from modelwatch.core.results import verdict
from modelwatch.models import Run
from modelwatch.run_status import RunStatus
from modelwatch.services.artifacts import model_block


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, as the contract says."""
    return moment.isoformat(timespec="milliseconds") + "Z" if moment else None


def _links(run_id: str, base_url: str) -> dict[str, str]:
    root = base_url.rstrip("/")
    return {"self": f"{root}/api/runs/{run_id}", "dashboard": f"{root}/runs/{run_id}",
            "report_html": f"{root}/api/runs/{run_id}/report.html"}


def run_verdict(run: Run) -> dict[str, Any] | None:
    """The verdict stored in the Result (computed now for a run stored before verdicts existed); a failed run's from
    its error; None while the run goes on."""
    if run.status == RunStatus.SUCCEEDED and run.result:
        return run.result.get("verdict") or verdict.evaluate(run.result, run.gates)
    return verdict.of_failed_run(run.error) if run.status == RunStatus.FAILED else None


def run_dict(run: Run, with_result: bool = True, base_url: str = "") -> dict[str, Any]:
    """A Run as the contract describes it; lists leave the result out.

    Args:
        run: the stored run.
        with_result: include the Result and the verdict (lists leave them out).
        base_url: what the links start with: the API passes its request's host URL, pages keep them relative.
    """
    end = run.finished_at
    duration = (end - run.started_at).total_seconds() if end and run.started_at else None
    body: dict[str, Any] = {
        "id": run.id, "name": run.name, "status": run.status, "stage": run.stage, "progress": run.progress,
        "source": run.source, "submitted_by": run.submitted_by, "tags": run.tags or [],
        "created_at": iso(run.created_at), "started_at": iso(run.started_at), "finished_at": iso(end),
        "duration_s": duration, "model": model_block(run.artifact), "config": run.config, "target": run.target,
        "error": run.error, "gates": run.gates, "headlines": run.headlines or {}, "links": _links(run.id, base_url),
    }
    if with_result:  # the verdict lives in the Result, which lists leave unloaded
        body["result"], body["verdict"] = run.result, run_verdict(run)
    return body
