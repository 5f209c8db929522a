"""Runs as use cases: submit, execute, wait for, read, list and delete."""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import IO, Any, TypeVar

from flask import current_app
from sqlalchemy import String, cast, select, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import joinedload, load_only

from modelwatch.core.config import resolve_config
from modelwatch.core.results import gates, verdict
from modelwatch.core.sandbox.runner import run_task
from modelwatch.core.schema.from_model import check_against_model, schema_from_model, validate_for_model
from modelwatch.errors import BadRequest, Cancelled, DatabaseUnavailable, InternalError, ModelwatchError, NotFound
from modelwatch.execution import recovery
from modelwatch.execution.cancellation import wait_while_executing_here, watch
from modelwatch.execution.executors import get_executor
from modelwatch.execution.queue import worker_id
from modelwatch.extensions import db
from modelwatch.models import ModelArtifact, Run, utcnow
from modelwatch.run_status import ACTIVE, FINISHED, RunStatus
from modelwatch.services import alerting, artifact_store, audit, logs, metrics, registry
from modelwatch.services.artifacts import sandbox_limits
from modelwatch.services.csv_uploads import StoredCsv, release_freed_memory, store_csv
from modelwatch.services.schemas import infer_schema

PROGRESS_COMMIT_INTERVAL_S = 0.3
IDEMPOTENCY_TTL = timedelta(hours=24)
WAIT_POLL_S = 0.1  # how often a waiting request reads the status of a run executing elsewhere
WAIT_HERE_CHECK_S = 5.0  # a run executing in this process wakes its waiters as it ends: a read now and then suffices
T = TypeVar("T")
logger = logging.getLogger(__name__)


def build_schema(
    artifact: ModelArtifact, schema: dict[str, Any] | None, sample_csv: bytes | StoredCsv | None = None,
    target: str | None = None, generator: str = "independent",
) -> dict[str, Any]:
    """The run's schema: the one given, else inferred from the sample (merged with the model), else the model's.

    Raises:
        BadRequest: the schema is malformed, or the copula generator has nothing to fit on.
        SchemaMismatch: the schema does not fit the model.
    """
    if schema is None and sample_csv:
        schema = infer_schema(sample_csv, artifact, target)["schema"]  # validated as it was inferred
        if artifact.info is not None:
            check_against_model(schema, artifact.info)
    else:
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
    sample_csv: bytes | IO[bytes] | None = None,
    current_csv: bytes | IO[bytes] | None = None,
    target: str | None = None,
    name: str | None = None,
    source: str = "api",
    submitted_by: str | None = None,
    idempotency_key: str | None = None,
) -> Run:
    """Create a queued run for a stored artifact and hand it to the executor.

    With an ``idempotency_key`` already used within ``IDEMPOTENCY_TTL``, the run it created is returned and
    nothing new is queued. The CSVs (bytes, or streams read in chunks) are stored compressed, never held whole.

    Raises:
        BadRequest: the config or schema is malformed.
        SchemaMismatch: the schema does not fit the model, or the sample / current CSV lacks model features.
    """
    if idempotency_key and (earlier := idempotent_run(idempotency_key, submitted_by)) is not None:
        return earlier
    config = checked_config(config)
    with ExitStack() as files:  # refused here, before any row exists
        stored: dict[str, StoredCsv | None] = {}
        for what, upload in (("sample", sample_csv), ("current", current_csv)):
            stored[what] = store_csv(upload, artifact, target, what)
            if stored[what] is not None:
                files.callback(stored[what].close)
        sample, current = stored["sample"], stored["current"]
        run = Run(
            artifact=artifact, name=name or artifact.name, source=source, submitted_by=submitted_by,
            schema=build_schema(artifact, schema, sample, target, config["generator"]), config=config,
            target=target or None,
            idempotency_key=_idempotency_digest(idempotency_key, submitted_by) if idempotency_key else None,
            dispatched_at=utcnow(),
        )
        if sample is not None and schema is None:
            release_freed_memory()  # the inference's frames are gone: their pages go back before the insert
        run.sample_csv = sample.compressed() if sample else None
        run.current_csv = current.compressed() if current else None
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:  # the same key arrived twice at once: the first one made the run
        db.session.rollback()
        if idempotency_key and (earlier := idempotent_run(idempotency_key, submitted_by)) is not None:
            return earlier
        raise
    try:
        get_executor().submit(run.id)
    except ModelwatchError as exc:  # the queue is unreachable: the run must not stay queued forever
        run.status, run.stage, run.error, run.finished_at = RunStatus.FAILED, "failed", exc.to_dict(), utcnow()
        db.session.commit()
        raise
    return run


def _idempotency_digest(key: str, submitted_by: str | None) -> str:
    """Keys belong to their submitter (one token cannot read another's run by guessing its key)."""
    return hashlib.sha256(f"{submitted_by or ''}\n{key}".encode()).hexdigest()


def idempotent_run(key: str, submitted_by: str | None = None) -> Run | None:
    """The run this submitter's ``Idempotency-Key`` created within the last 24 h; an older use is forgotten."""
    digest = _idempotency_digest(key, submitted_by)
    db.session.execute(update(Run).where(Run.idempotency_key == digest, Run.created_at < utcnow() - IDEMPOTENCY_TTL)
                       .values(idempotency_key=None).execution_options(synchronize_session=False))
    db.session.commit()
    return Run.query.filter(Run.idempotency_key == digest, Run.deleted_at.is_(None)).one_or_none()


class _Cancelled(Exception):
    """The run's row stopped saying ``running`` (cancelled, deleted, or failed by recovery) while it executed."""


class _ProgressWriter:
    """Writes the child's progress to the row, at most a few times a second unless the stage changes.

    A progress line the database cannot take (a blip, a failover) is dropped, never fatal: the next one
    carries the newer state. Only a row that no longer says ``running`` for this process stops the run.
    """

    def __init__(self, run_id: str, cancel: threading.Event | None = None) -> None:
        self.run_id = run_id
        self.cancel = cancel
        self.stage: str | None = None
        self.stage_started = time.monotonic()
        self.last_commit = 0.0
        self.headlines: dict[str, Any] = {}

    def __call__(self, stage: str, fraction: float, extra: dict[str, Any] | None = None) -> None:
        now = time.monotonic()
        section = (extra or {}).get("section")
        if section and isinstance((extra or {}).get("headline"), dict):
            self.headlines[str(section)] = extra["headline"]
        elif stage == self.stage and now - self.last_commit < PROGRESS_COMMIT_INTERVAL_S:
            return
        values: dict[str, Any] = {"stage": stage[:100], "progress": min(max(fraction, 0.0), 1.0),
                                  "heartbeat_at": utcnow()}
        if self.headlines:
            values["headlines"] = dict(self.headlines)
        try:
            changed = db.session.execute(
                update(Run).where(Run.id == self.run_id, Run.status == RunStatus.RUNNING, Run.worker == worker_id())
                .values(**values).execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
        except (OperationalError, InterfaceError):
            db.session.rollback()
            return  # the database is briefly away: keep running, the watcher and _finish retry
        if stage != self.stage:
            if self.stage is not None:
                metrics.stage_finished(self.stage, now - self.stage_started)
            self.stage_started = now
        self.stage, self.last_commit = stage, now
        if not changed:  # cancelled, deleted, or taken over: nothing left to report to
            if self.cancel is not None:
                self.cancel.set()
            raise _Cancelled


def execute_claimed(run_id: str) -> str | None:
    """Execute a run this process has claimed: its row says ``running`` with this process as its worker."""
    with logs.run_context(run_id), watch(run_id) as cancel:
        return _execute_claimed(run_id, cancel)


def _inputs(run_id: str) -> tuple[Run, bytes, dict[str, bytes]] | None:
    run = db.session.get(Run, run_id)
    if run is None:
        return None
    files = {name: data for name, data in (("sample.csv", run.sample_csv), ("current.csv", run.current_csv)) if data}
    return run, artifact_store.load(run.artifact), files


def _execute_claimed(run_id: str, cancel: threading.Event) -> str | None:
    started = time.monotonic()
    try:
        loaded = with_database_retry(lambda: _inputs(run_id))
    except ModelwatchError as exc:
        return _finish(run_id, RunStatus.FAILED, error=exc.to_dict())
    if loaded is None:
        return None
    run, model_bytes, files = loaded
    payload = {"schema": run.schema, "config": run.config, "target": run.target}
    fmt, timeout_s, config = run.artifact.format, run.config["timeout_s"], run.config
    db.session.commit()  # no transaction stays open while the sandbox works
    logger.info("run started", extra={"stage": "starting"})
    try:
        result = run_task("suite", model_bytes, fmt, payload, files, limits=sandbox_limits(timeout_s),
                          on_progress=_ProgressWriter(run_id, cancel), cancel=cancel)
    except ModelwatchError as exc:
        metrics.sandbox_outcome(exc.code if not cancel.is_set() else Cancelled.code)
        if not cancel.is_set():  # else the row already says why it stopped (cancel_run or recovery wrote it)
            return _finish(run_id, RunStatus.FAILED, error=exc.to_dict(), started=started)
    except Exception as exc:  # a bug of ours must still end the run, never leave it "running"
        metrics.sandbox_outcome(InternalError.code)
        if not cancel.is_set():
            logger.exception("run crashed")
            return _finish(run_id, RunStatus.FAILED, error=InternalError(f"modelwatch failed: {exc}").to_dict(),
                           started=started)
    else:
        metrics.sandbox_outcome("ok")
        return _finish(run_id, RunStatus.SUCCEEDED, result=result, config=config, started=started)
    return None


def with_database_retry(action: Callable[[], T]) -> T:
    """Run ``action`` (which reads or writes the database), retrying a database blip with backoff.

    Raises:
        DatabaseUnavailable: the database stayed unreachable for ``DB_RETRY_S`` seconds.
    """
    limit = float(current_app.config.get("DB_RETRY_S", 60))
    deadline, pause = time.monotonic() + limit, 0.5
    while True:
        try:
            return action()
        except (OperationalError, InterfaceError) as exc:
            db.session.rollback()
            if time.monotonic() + pause > deadline:
                raise DatabaseUnavailable(f"The database did not answer for {limit:.0f} s while the run executed.",
                                          {"reason": str(exc).splitlines()[0][:200]}) from exc
            logger.warning("database unavailable, retrying in %.1f s", pause)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _finish(run_id: str, status: str, result: dict | None = None, error: dict | None = None,
            config: dict | None = None, started: float | None = None) -> str | None:
    """Store the outcome, retrying database blips; returns the final status, None when another outcome stands."""
    def write() -> int:
        db.session.rollback()  # drop anything half-written by a failed progress commit
        changed = db.session.execute(
            update(Run).where(Run.id == run_id, Run.status == RunStatus.RUNNING, Run.worker == worker_id())
            .values(**values).execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        return changed

    checks = None
    try:
        if status == RunStatus.SUCCEEDED and result and config:
            # the champion's run is read only for relative gates, and a database blip there is retried too
            baseline = (with_database_retry(lambda: registry.relative_baseline(db.session.get(Run, run_id)))
                        if gates.needs_baseline(config) else None)
            checks = gates.evaluate(result, config, baseline)
            result = {**result, "verdict": verdict.evaluate(result, checks)}
        values = {"status": status, "result": result, "error": error, "gates": checks, "progress": 1.0,
                  "stage": "done" if status == RunStatus.SUCCEEDED else "failed", "finished_at": utcnow()}
        changed = with_database_retry(write)
    except DatabaseUnavailable as exc:
        logger.error("the outcome of the run could not be stored: the database stayed unavailable")
        recovery.remember_undelivered(run_id, exc.to_dict())  # this process's janitor writes it when it is back
        return None
    db.session.expire_all()
    if not changed:
        return None  # cancelled, deleted or failed by recovery meanwhile: that outcome stands
    if started is not None:
        metrics.run_finished(status, time.monotonic() - started)
    logger.info("run finished", extra={"status": status, "code": (error or {}).get("code")})
    alerting.on_run_finished(db.session.get(Run, run_id))
    return status


def get_run(run_id: str) -> Run:
    """The run, or NotFound (a deleted run is gone at once, though ``flask gc`` removes its row later)."""
    run = db.session.get(Run, run_id)
    if run is None or run.deleted_at is not None:
        raise NotFound(f"No run with id {run_id}.", {"id": run_id})
    return run


def wait_for_run(run_id: str, seconds: float, cap_s: float | None = None) -> Run:
    """Wait until the run has finished or ``seconds`` have passed (capped by ``cap_s``, else MAX_WAIT_S).

    A run executing in this process wakes the wait as it ends (its outcome already stored): the answer leaves at
    once and the wait costs no CPU, which the latency the run may be measuring would feel. A run queued or
    executing in another process is read (its status column alone) every WAIT_POLL_S, so the client hears of
    the verdict within 0.1 s.
    """
    cap = current_app.config["MAX_WAIT_S"] if cap_s is None else cap_s
    deadline = time.monotonic() + min(float(seconds), cap)
    get_run(run_id)  # NotFound at once
    while True:
        status = db.session.execute(select(Run.status).where(Run.id == run_id)).scalar_one_or_none()
        if status is None or status in FINISHED or time.monotonic() >= deadline:
            break
        db.session.commit()  # release the connection while sleeping
        left = max(deadline - time.monotonic(), 0.01)
        if not wait_while_executing_here(run_id, min(WAIT_HERE_CHECK_S, left)):
            time.sleep(min(WAIT_POLL_S, left))
    db.session.expire_all()
    return get_run(run_id)


def wait_in_request(run_id: str, seconds: float) -> Run:
    """``?wait`` of a request: capped by MAX_WAIT_S, and only while one of the process's WAIT_SLOTS is free, so
    that waiting requests never hold every server thread (health checks and reads always find one); 0 answers
    the run as it is."""
    if seconds <= 0:
        return get_run(run_id)
    slots = current_app.extensions.setdefault(
        "modelwatch.wait_slots", threading.BoundedSemaphore(max(int(current_app.config["WAIT_SLOTS"]), 1)))
    if not slots.acquire(blocking=False):
        return get_run(run_id)  # every slot waits already: answer 202 at once, the client polls
    try:
        return wait_for_run(run_id, seconds)
    finally:
        slots.release()


LIST_COLUMNS = ("id", "artifact_id", "name", "status", "stage", "progress", "source", "submitted_by", "tags",
                "target", "config", "gates", "error", "headlines", "created_at", "started_at", "finished_at")


def light_runs_query():
    """Runs without their result, CSVs or model bytes: what lists and pages that show many runs read."""
    return (Run.query.options(load_only(*(getattr(Run, c) for c in LIST_COLUMNS)),
                              joinedload(Run.artifact).defer(ModelArtifact.data))
            .filter(Run.deleted_at.is_(None)))


def encode_cursor(run: Run) -> str:
    """The keyset position after ``run`` in the newest-first order."""
    raw = f"{run.created_at.isoformat()}|{run.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raises: BadRequest: the cursor was not made by :func:`encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, _, run_id = raw.partition("|")
        if not run_id:
            raise ValueError(raw)
        return datetime.fromisoformat(moment), run_id
    except ValueError as exc:
        raise BadRequest("The cursor is not one this server gave (use the previous page's `next`).",
                         {"fields": {"cursor": ["unknown cursor"]}}) from exc


def list_runs(
    limit: int = 50, offset: int = 0, status: str | None = None, model: str | None = None, *,
    cursor: str | None = None, tag: str | None = None, source: str | None = None, submitted_by: str | None = None,
    created_after: datetime | None = None, created_before: datetime | None = None,
) -> tuple[list[Run], int, str | None]:
    """Runs newest first, without their results: a page, the total count, and the cursor of the next page.

    ``model`` is a run name or a sha256 prefix; ``tag`` one tag; dates are UTC; ``cursor`` (from the previous
    page) replaces ``offset`` and stays stable while new runs arrive.

    Raises:
        BadRequest: the cursor is malformed.
    """
    query = light_runs_query()
    if status:
        query = query.filter(Run.status == status)
    if model:
        query = query.join(Run.artifact).filter(
            db.or_(Run.name == model, ModelArtifact.sha256.startswith(model.lower())))
    if tag:
        query = query.filter(cast(Run.tags, String).contains(json.dumps(tag), autoescape=True))
    if source:
        query = query.filter(Run.source == source)
    if submitted_by:
        query = query.filter(Run.submitted_by == submitted_by)
    if created_after:
        query = query.filter(Run.created_at >= _naive_utc(created_after))
    if created_before:
        query = query.filter(Run.created_at < _naive_utc(created_before))
    total = query.order_by(None).with_entities(db.func.count(Run.id)).scalar()
    if cursor:
        moment, run_id = decode_cursor(cursor)
        query = query.filter(db.or_(Run.created_at < moment, db.and_(Run.created_at == moment, Run.id < run_id)))
        offset = 0
    found = query.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit + 1).offset(offset).all()
    following = encode_cursor(found[limit - 1]) if len(found) > limit else None
    return found[:limit], total, following


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def delete_run(run_id: str) -> None:
    """Delete a run: it is hidden at once (cancelled first when queued or running); ``flask gc`` removes the row."""
    if get_run(run_id).status not in FINISHED:
        cancel_run(run_id, "The run was deleted while it executed.")
    db.session.execute(update(Run).where(Run.id == run_id).values(deleted_at=utcnow(), idempotency_key=None)
                       .execution_options(synchronize_session=False))
    audit.add("run.delete", run_id)  # a soft delete is an UPDATE: the ORM's delete event never sees it
    db.session.commit()
    db.session.expire_all()


def cancel_run(run_id: str, message: str = "The run was cancelled.") -> Run:
    """Cancel a queued or running run: it ends ``failed`` with the code ``cancelled``; a finished run is left as is.

    The row changes at once; the process executing the run sees it within a second and kills the sandbox.

    Raises:
        NotFound: no such run.
    """
    run = get_run(run_id)
    error = Cancelled(message, {"stage": run.stage, "progress": run.progress}).to_dict()
    changed = db.session.execute(
        update(Run).where(Run.id == run_id, Run.status.in_(ACTIVE))
        .values(status=RunStatus.FAILED, stage="cancelled", error=error, finished_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    if changed:
        get_executor().cancel(run_id)
    db.session.expire_all()
    return get_run(run_id)


def count_by_status() -> dict[str, int]:
    """How many runs are in each status."""
    rows = (db.session.query(Run.status, db.func.count(Run.id)).filter(Run.deleted_at.is_(None))
            .group_by(Run.status).all())
    return {status: count for status, count in rows}
