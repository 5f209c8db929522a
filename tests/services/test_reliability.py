"""No run lost or stuck, lists that scale, idempotent submissions, retention and observability: on SQLite and
PostgreSQL, through the services and the REST API (runs execute inline unless a test needs them to wait)."""
from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, select, text

from modelwatch.app import create_app
from modelwatch.execution import queue, recovery
from modelwatch.extensions import db
from modelwatch.models import GZIP_MAGIC, Run, utcnow
from modelwatch.services import artifact_store, artifacts, logs, retention, runs
from tests.api.fast import assert_error, fast_config, submit
from tests.conftest import make_config

pytestmark = pytest.mark.usefixtures("sandbox")


@pytest.fixture
def artifact(app, forest_bytes, tmp_path):
    app.config["ARTIFACT_DIR"] = str(tmp_path / "artifacts")
    return artifacts.store_upload(forest_bytes, "forest.pkl")


def _row(artifact, **values) -> Run:
    """A run row as another process would have left it (no execution)."""
    run = Run(artifact=artifact, name=values.pop("name", "r"), config={"timeout_s": 300}, **values)
    db.session.add(run)
    db.session.commit()
    return run


def _dead_worker() -> str:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return f"{socket.gethostname()}:{gone.pid}"


def test_a_lost_worker_s_run_is_queued_again_once_then_failed_with_worker_lost(app, artifact):
    app.config["RUN_MAX_ATTEMPTS"] = 2
    run = _row(artifact, status="running", stage="drift", started_at=utcnow(), heartbeat_at=utcnow(),
               worker=_dead_worker())
    run_id = run.id
    # released: queued again for another attempt, and re-dispatched (inline: executed at once, to the end)
    assert recovery.recover_orphans() == [run_id]
    db.session.expire_all()
    again = db.session.get(Run, run_id)
    assert again.attempts == 1 and again.status == "failed" and again.error["code"] != "worker_lost"
    # lost a second time: no attempt left
    db.session.execute(text("UPDATE run SET status='running', worker=:w, error=NULL WHERE id=:id"),
                       {"w": _dead_worker(), "id": run_id})
    db.session.commit()
    assert recovery.recover_orphans() == [run_id]
    db.session.expire_all()
    lost = db.session.get(Run, run_id)
    assert lost.status == "failed" and lost.error["code"] == "worker_lost" and lost.attempts == 2


def test_the_sweeper_re_dispatches_queued_runs_nobody_claimed_once_per_period(app, artifact):
    stale = _row(artifact, status="queued", dispatched_at=utcnow() - timedelta(minutes=5), name="lost message")
    fresh = _row(artifact, status="queued", dispatched_at=utcnow(), name="just sent")
    app.extensions["modelwatch.executor"].submit = lambda run_id: None  # the broker: a message nobody gets
    assert recovery.redispatch_queued(60) == [stale.id]
    assert recovery.redispatch_queued(60) == []  # stamped: not sent again within the period
    db.session.expire_all()
    assert db.session.get(Run, fresh.id).status == "queued"


def test_a_run_handed_out_twice_is_claimed_once(app, artifact):
    run = _row(artifact, status="queued")
    assert queue.claim(run.id) is True and queue.claim(run.id) is False


def test_idempotency_key_returns_the_same_run_within_24_hours(client, app, forest_bytes):
    headers = {"Idempotency-Key": "ci-job-1234"}
    first = submit(client, forest_bytes, headers=headers, config=fast_config())
    again = submit(client, forest_bytes, headers=headers, config=fast_config())
    assert first.status_code == 200 and again.status_code == 200
    assert again.get_json()["run"]["id"] == first.get_json()["run"]["id"]
    assert client.get("/api/runs").get_json()["total"] == 1
    db.session.execute(text("UPDATE run SET created_at = :t"), {"t": utcnow() - timedelta(hours=25)})
    db.session.commit()
    later = submit(client, forest_bytes, headers=headers, config=fast_config())
    assert later.get_json()["run"]["id"] != first.get_json()["run"]["id"]
    assert_error(submit(client, forest_bytes, headers={"Idempotency-Key": "a b"}), 400, "bad_request")


def test_lists_filter_page_by_cursor_and_never_read_results_or_bytes(client, app, artifact):
    now = utcnow()
    for i in range(7):
        _row(artifact, name=f"run{i}", status="succeeded" if i % 2 else "failed", source="ui" if i < 3 else "api",
             submitted_by="ci" if i == 6 else None, tags=["nightly"] if i in (1, 2) else [],
             created_at=now - timedelta(minutes=10 - i), result={"big": "x" * 1000})
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731 - (conn, cursor, statement, ...)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        page = client.get("/api/runs?limit=3").get_json()
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert [r["name"] for r in page["runs"]] == ["run6", "run5", "run4"] and page["total"] == 7
    assert not any(col in sql for sql in statements for col in ("run.result", "sample_csv", "model_artifact.data"))
    second = client.get(f"/api/runs?limit=3&cursor={page['next']}").get_json()
    third = client.get(f"/api/runs?limit=3&cursor={second['next']}").get_json()
    assert [r["name"] for r in second["runs"] + third["runs"]] == ["run3", "run2", "run1", "run0"]
    assert third["next"] is None
    assert client.get("/api/runs?limit=3&offset=3").get_json()["runs"] == second["runs"]

    def names(query: str) -> list[str]:
        return [r["name"] for r in client.get(f"/api/runs?{query}").get_json()["runs"]]

    assert names("status=failed&source=ui") == ["run2", "run0"]
    assert names("tag=nightly") == ["run2", "run1"] and names("submitted_by=ci") == ["run6"]
    after = (now - timedelta(minutes=5, seconds=30)).isoformat() + "Z"
    assert names(f"created_after={after}") == ["run6", "run5"]
    assert names(f"created_before={after}&model=run0") == ["run0"]
    for bad in ("limit=0", "status=done", "cursor=bm90LWEtY3Vyc29y", "created_after=yesterday", "colour=red"):
        assert_error(client.get(f"/api/runs?{bad}"), 400, "bad_request")


def test_csvs_are_stored_compressed_and_read_back_whole(app, artifact, cancer):
    features = cancer[0].set_axis([f"f{i}" for i in range(cancer[0].shape[1])], axis=1)  # the forest's own names
    sample = features.assign(label=cancer[1]).to_csv(index=False).encode()
    config = {**json.loads(fast_config()), "drift": {"features": ["f0"], "kinds": ["mean_shift"], "severities": [1.0],
                                                    "resamples": 0}}
    run = runs.submit_run(artifact, config=config, sample_csv=sample, target="label")
    raw = db.session.execute(text("SELECT sample_csv FROM run WHERE id = :id"), {"id": run.id}).scalar()
    assert bytes(raw[:2]) == GZIP_MAGIC and len(raw) < len(sample) / 2
    db.session.expire_all()
    assert runs.get_run(run.id).sample_csv == sample and runs.get_run(run.id).status == "succeeded"


def test_gc_removes_deleted_and_old_runs_and_unused_model_files(app, artifact, runner):
    stored = artifact_store.artifact_dir() / artifact.sha256
    kept = _row(artifact, status="succeeded", name="recent").id
    _row(artifact, status="failed", created_at=utcnow() - timedelta(days=100), name="old")
    runs.delete_run(_row(artifact, status="succeeded", name="deleted").id)
    assert retention.collect_garbage(timedelta(days=90), dry_run=True) == {"runs": 2, "artifacts": 0}
    result = runner.invoke(args=["gc", "--older-than", "90d"])
    assert result.exit_code == 0 and "Removed 2 run(s) and 0 model file(s)" in result.output
    assert [r.id for r in Run.query.all()] == [kept]
    runs.delete_run(kept)
    db.session.execute(text("UPDATE model_artifact SET created_at = :t"), {"t": utcnow() - timedelta(days=1)})
    db.session.commit()
    assert retention.collect_garbage(None) == {"runs": 1, "artifacts": 1}
    assert not stored.exists()
    assert runner.invoke(args=["gc", "--older-than", "soon"]).exit_code != 0


def test_health_live_ready_metrics_and_request_ids(client, app, artifact):
    _row(artifact, status="queued", created_at=utcnow() - timedelta(seconds=90))
    assert client.get("/api/health/live").get_json()["status"] == "ok"
    ready = client.get("/api/health/ready")
    body = ready.get_json()
    assert ready.status_code == 200 and body["database"] == "ok" and body["broker"] == "none"
    assert body["queue"]["queued"] == 1 and body["queue"]["oldest_queued_age_s"] >= 89
    answer = client.get("/metrics", headers={"X-Request-ID": "req-42"})
    exposition = answer.get_data(as_text=True)
    assert answer.status_code == 200 and answer.headers["X-Request-ID"] == "req-42"
    assert 'modelwatch_runs{status="queued"} 1.0' in exposition and "modelwatch_queue_depth 1.0" in exposition
    assert "modelwatch_http_request_duration_seconds_bucket" in exposition
    assert len(client.get("/api/health").headers["X-Request-ID"]) == 32  # made up when the router sent none


def test_every_log_line_carries_the_request_and_run_ids(client, forest_bytes):
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(handler.format(record))
    handler.addFilter(logs.ContextFilter())
    handler.setFormatter(logs.JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.INFO)
    try:
        response = submit(client, forest_bytes, headers={"X-Request-ID": "pipeline-7"}, config=fast_config())
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    run_id = response.get_json()["run"]["id"]
    records = [json.loads(line) for line in lines]
    assert records and all(r["request_id"] == "pipeline-7" for r in records)
    assert {"run started", "run finished"} <= {r["message"] for r in records if r["run_id"] == run_id}
    access = [r for r in records if r["logger"] == "modelwatch.access"]
    assert access[-1]["status"] == 200 and access[-1]["path"] == "/run_tests" and access[-1]["duration_ms"] > 0


def test_waits_are_capped_and_never_take_every_thread(tmp_path, forest_bytes):
    """Runs that never start (no runner thread): a wait ends at the cap with 202 + Location, and while one wait
    holds the only wait slot, another request answers at once."""
    app = create_app(make_config(f"sqlite:///{tmp_path / 'w.db'}", EXECUTOR="threads", EXECUTOR_WORKERS=0,
                                 MAX_WAIT_S=1.0, WAIT_SLOTS=1, ARTIFACT_DIR=str(tmp_path / "a")))
    with app.app_context():
        db.create_all()
    client = app.test_client()
    started = time.monotonic()
    capped = submit(client, forest_bytes, query="?wait=600", config=fast_config())
    assert capped.status_code == 202 and 1.0 <= time.monotonic() - started < 20
    assert capped.headers["Location"] == f"/api/runs/{capped.get_json()['run']['id']}"
    app.config["MAX_WAIT_S"] = 30.0
    holder = threading.Thread(target=lambda: submit(app.test_client(), forest_bytes, query="?wait=10",
                                                             config=fast_config()))
    holder.start()
    with app.app_context():
        deadline = time.monotonic() + 30
        while db.session.execute(select(db.func.count(Run.id))).scalar() < 2 and time.monotonic() < deadline:
            db.session.commit()
            time.sleep(0.05)
    started = time.monotonic()
    assert submit(client, forest_bytes, query="?wait=25", config=fast_config()).status_code == 202
    assert time.monotonic() - started < 15  # not the 25 s asked for: the only slot was taken
    holder.join(timeout=30)
