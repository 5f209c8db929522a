"""Runs as use cases: submit, execute, wait for, read, list and delete."""
from __future__ import annotations

import json
import threading
import time
from typing import Any

from flask import current_app
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from modelwatch.core import gates
from modelwatch.core.config import resolve_config
from modelwatch.core.sandbox import run_task
from modelwatch.core.schema import schema_from_model, validate_for_model
from modelwatch.errors import BadRequest, ModelwatchError, NotFound
from modelwatch.extensions import db
from modelwatch.models import ModelArtifact, Run, utcnow
from modelwatch.services import alerting, recovery, registry
from modelwatch.services.artifacts import sandbox_limits
from modelwatch.services.executor import get_executor
from modelwatch.services.schemas import infer_schema, match_csv

PROGRESS_COMMIT_INTERVAL_S = 0.3
FINISHED = ("succeeded", "failed")


def parse_json_field(text: str | bytes | None, field: str) -> dict[str, Any] | None:
    """A JSON object sent as a form field or file; None when absent.

    Raises:
        BadRequest: the text is not a JSON object.
    """
    if text is None or (isinstance(text, (str, bytes)) and not text.strip()):
        return None
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise BadRequest(f"The {field} field is not valid JSON: {exc}.", {"field": field}) from exc
    if not isinstance(value, dict):
        raise BadRequest(f"The {field} field must be a JSON object.", {"field": field})
    return value


def build_schema(
    artifact: ModelArtifact, schema: dict[str, Any] | None, sample_csv: bytes | None = None,
    target: str | None = None, generator: str = "independent",
) -> dict[str, Any]:
    """The run's schema: the one given, else inferred from the sample (merged with the model), else the model's.

    Raises:
        BadRequest: the schema is malformed, or the copula generator has nothing to fit on.
        SchemaMismatch: the schema does not fit the model.
    """
    if schema is None and sample_csv:
        schema = infer_schema(sample_csv, artifact, target)["schema"]
    schema = validate_for_model(schema or schema_from_model(artifact.info), artifact.info)
    if generator == "copula" and not schema.get("copula") and not sample_csv:
        raise BadRequest("The copula generator needs a sample CSV, or a schema inferred from one.",
                         {"config.generator": ["copula needs a sample or a schema with a 'copula' block"]})
    return schema


def checked_config(config: dict[str, Any] | None) -> dict[str, Any]:
    """The config with its defaults, its gates checked against the paths a Result can have.

    Raises:
        BadRequest: a gate names an unknown metric path (details list the valid ones) or has a malformed bound.
    """
    resolved = resolve_config(config)
    gates.validate_thresholds(resolved.get("thresholds"), resolved)
    return resolved


def submit_run(
    artifact: ModelArtifact,
    *,
    schema: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    sample_csv: bytes | None = None,
    current_csv: bytes | None = None,
    target: str | None = None,
    name: str | None = None,
    source: str = "api",
    submitted_by: str | None = None,
) -> Run:
    """Create a queued run for a stored artifact and hand it to the executor.

    Raises:
        BadRequest: the config or schema is malformed.
        SchemaMismatch: the schema does not fit the model, or the sample / current CSV lacks model features.
    """
    config = checked_config(config)
    sample_csv, _ = match_csv(sample_csv, artifact, target, "sample")  # refused here, before any row exists
    current_csv, _ = match_csv(current_csv, artifact, target, "current")
    run = Run(
        artifact=artifact, name=name or artifact.name, source=source, submitted_by=submitted_by,
        schema=build_schema(artifact, schema, sample_csv, target, config["generator"]), config=config,
        target=target or None,
        sample_csv=sample_csv or None, current_csv=current_csv or None,
    )
    db.session.add(run)
    db.session.commit()
    try:
        get_executor().submit(run.id)
    except ModelwatchError as exc:  # the queue is unreachable: the run must not stay queued forever
        run.status, run.stage, run.error, run.finished_at = "failed", "failed", exc.to_dict(), utcnow()
        db.session.commit()
        raise
    return run


class _Cancelled(Exception):
    """The run's row stopped saying ``running`` (cancelled, deleted, or failed by recovery) while it executed."""


class _ProgressWriter:
    """Writes the child's progress to the row, at most a few times a second unless the stage changes."""

    def __init__(self, run: Run, cancel: threading.Event | None = None) -> None:
        self.run = run
        self.cancel = cancel
        self.last_commit = 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        now = time.monotonic()
        try:
            if stage == self.run.stage and now - self.last_commit < PROGRESS_COMMIT_INTERVAL_S:
                return
            self.run.stage, self.run.progress, self.run.heartbeat_at = stage, min(max(fraction, 0.0), 1.0), utcnow()
            db.session.commit()
        except SQLAlchemyError as exc:  # the row was deleted under us: nothing left to report to
            db.session.rollback()
            if self.cancel is not None:
                self.cancel.set()
            raise _Cancelled from exc
        self.last_commit = now


def _claim(run_id: str) -> bool:
    """Move a queued run to running for this process, atomically: a run handed out twice executes once."""
    now = utcnow()
    claimed = db.session.execute(
        update(Run).where(Run.id == run_id, Run.status == "queued")
        .values(status="running", stage="starting", started_at=now, heartbeat_at=now, worker=recovery.worker_id())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


def execute_run(run_id: str) -> None:
    """Run the suite for a queued run in the sandbox and store its result or its error."""
    if _claim(run_id):
        execute_claimed(run_id)


def execute_claimed(run_id: str) -> None:
    """Execute a run this process has claimed: its row says ``running`` with this process as its worker."""
    with recovery.watch(run_id) as cancel:
        _execute_claimed(run_id, cancel)


def execute_next() -> bool:
    """Claim the oldest queued run of the whole server and execute it; False when nothing is queued."""
    while True:
        run_id = db.session.execute(
            db.select(Run.id).where(Run.status == "queued").order_by(Run.created_at, Run.id).limit(1)
        ).scalar()
        db.session.commit()
        if run_id is None:
            return False
        if _claim(run_id):  # else another runner took it first: look again
            execute_claimed(run_id)
            return True


def _execute_claimed(run_id: str, cancel: threading.Event) -> None:
    run = db.session.get(Run, run_id)
    if run is None:
        return
    files = {name: data for name, data in (("sample.csv", run.sample_csv), ("current.csv", run.current_csv)) if data}
    payload = {"schema": run.schema, "config": run.config, "target": run.target}
    try:
        result = run_task("suite", run.artifact.data, run.artifact.format, payload, files,
                          limits=sandbox_limits(run.config["timeout_s"]), on_progress=_ProgressWriter(run, cancel),
                          cancel=cancel)
    except ModelwatchError as exc:
        if not cancel.is_set():  # else the row already says why it stopped (cancel_run or recovery wrote it)
            _finish(run, "failed", error=exc.to_dict())
    except Exception as exc:  # a bug of ours must still end the run, never leave it "running"
        if not cancel.is_set():
            current_app.logger.exception("run %s crashed", run_id)
            _finish(run, "failed", error={"code": "internal_error", "message": f"modelwatch failed: {exc}",
                                          "details": {}})
    else:
        _finish(run, "succeeded", result=result)


def _finish(run: Run, status: str, result: dict | None = None, error: dict | None = None) -> None:
    db.session.rollback()  # drop anything half-written by a failed progress commit
    run = db.session.get(Run, run.id, with_for_update=True)
    if run is None or run.status != "running":
        db.session.rollback()
        return  # cancelled, deleted or failed by recovery meanwhile: that outcome stands
    run.status, run.result, run.error = status, result, error
    if status == "succeeded" and result:
        run.gates = gates.evaluate(result, run.config, registry.relative_baseline(run))
    else:
        run.gates = None
    run.stage = "done" if status == "succeeded" else "failed"
    run.progress = 1.0
    run.finished_at = utcnow()
    db.session.commit()
    alerting.on_run_finished(run)


def get_run(run_id: str) -> Run:
    """The run, or NotFound."""
    run = db.session.get(Run, run_id)
    if run is None:
        raise NotFound(f"No run with id {run_id}.", {"id": run_id})
    return run


def wait_for_run(run_id: str, seconds: float) -> Run:
    """Poll the row until the run has finished or ``seconds`` have passed (capped by MAX_WAIT_S)."""
    deadline = time.monotonic() + min(float(seconds), current_app.config["MAX_WAIT_S"])
    while True:
        db.session.expire_all()
        run = get_run(run_id)
        if run.status in FINISHED or time.monotonic() >= deadline:
            return run
        time.sleep(0.2)


def list_runs(
    limit: int = 50, offset: int = 0, status: str | None = None, model: str | None = None
) -> tuple[list[Run], int]:
    """Runs newest first, filtered by status and by model name or sha256 prefix; with the total count."""
    query = Run.query.join(ModelArtifact)
    if status:
        query = query.filter(Run.status == status)
    if model:
        query = query.filter(db.or_(Run.name == model, ModelArtifact.sha256.startswith(model.lower())))
    total = query.count()
    runs = query.order_by(Run.created_at.desc(), Run.id).limit(limit).offset(offset).all()
    return runs, total


def delete_run(run_id: str) -> None:
    """Delete a run (its artifact stays for other runs); a queued or running run is cancelled first."""
    if get_run(run_id).status not in FINISHED:
        cancel_run(run_id, "The run was deleted while it executed.")
    db.session.delete(get_run(run_id))
    db.session.commit()


def cancel_run(run_id: str, message: str = "The run was cancelled.") -> Run:
    """Cancel a queued or running run: it ends ``failed`` with the code ``cancelled``; a finished run is left as is.

    The row changes at once; the process executing the run sees it within a second and kills the sandbox.

    Raises:
        NotFound: no such run.
    """
    run = get_run(run_id)
    error = {"code": "cancelled", "message": message, "details": {"stage": run.stage, "progress": run.progress}}
    changed = db.session.execute(
        update(Run).where(Run.id == run_id, Run.status.in_(("queued", "running")))
        .values(status="failed", stage="cancelled", error=error, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if changed:
        get_executor().cancel(run_id)
    db.session.expire_all()
    return get_run(run_id)


def count_by_status() -> dict[str, int]:
    """How many runs are in each status."""
    rows = db.session.query(Run.status, db.func.count(Run.id)).group_by(Run.status).all()
    return {status: count for status, count in rows}
