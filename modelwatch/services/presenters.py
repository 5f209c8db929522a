"""The contract's JSON shapes of stored rows (CONTRACT.md: Run)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import has_request_context, request

from modelwatch.core.results import verdict
from modelwatch.models import Run
from modelwatch.services.artifacts import model_block


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with a Z, as the contract says."""
    return moment.isoformat(timespec="milliseconds") + "Z" if moment else None


def _links(run_id: str) -> dict[str, str]:
    root = request.host_url.rstrip("/") if has_request_context() else ""
    return {"self": f"{root}/api/runs/{run_id}", "dashboard": f"{root}/runs/{run_id}",
            "report_html": f"{root}/api/runs/{run_id}/report.html"}


def run_verdict(run: Run) -> dict[str, Any] | None:
    """The verdict stored in the Result (computed now for a run stored before verdicts existed); a failed run's from
    its error; None while the run goes on."""
    if run.status == "succeeded" and run.result:
        return run.result.get("verdict") or verdict.evaluate(run.result, run.gates)
    return verdict.of_failed_run(run.error) if run.status == "failed" else None


def run_dict(run: Run, with_result: bool = True) -> dict[str, Any]:
    """A Run as the contract describes it; lists leave the result out."""
    end = run.finished_at
    duration = (end - run.started_at).total_seconds() if end and run.started_at else None
    body: dict[str, Any] = {
        "id": run.id, "name": run.name, "status": run.status, "stage": run.stage, "progress": run.progress,
        "source": run.source, "submitted_by": run.submitted_by, "tags": run.tags or [],
        "created_at": iso(run.created_at), "started_at": iso(run.started_at), "finished_at": iso(end),
        "duration_s": duration, "model": model_block(run.artifact), "config": run.config, "target": run.target,
        "error": run.error, "gates": run.gates, "headlines": run.headlines or {}, "links": _links(run.id),
    }
    if with_result:  # the verdict lives in the Result, which lists leave unloaded
        body["result"], body["verdict"] = run.result, run_verdict(run)
    return body
