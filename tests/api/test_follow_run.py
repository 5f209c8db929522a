"""``GET /api/runs/<id>?wait=``: the answer leaves as the run finishes, not a poll later; without ``wait`` nothing
changed (other query parameters still pass)."""
from __future__ import annotations

import threading
import time

from sqlalchemy import event

from modelwatch.execution.cancellation import watch
from modelwatch.execution.queue import worker_id
from modelwatch.extensions import db
from modelwatch.models import Run, utcnow
from tests.api.fast import assert_error
from tests.factories import stored_artifact, stored_run


def finish_later(app, run_id: str) -> threading.Thread:
    """Mark the run succeeded from another thread a moment later (as an executor would), while the request waits."""
    def finish() -> None:
        time.sleep(0.3)
        with app.app_context():
            run = db.session.get(Run, run_id)
            run.status, run.stage, run.progress, run.finished_at = "succeeded", "done", 1.0, utcnow()
            db.session.commit()
    thread = threading.Thread(target=finish)
    thread.start()
    return thread


def test_wait_answers_when_the_run_finishes(app, client):
    run_id = stored_run(stored_artifact(), status="running", started_at=utcnow()).id
    asked = time.monotonic()
    thread = finish_later(app, run_id)
    response = client.get(f"/api/runs/{run_id}?wait=20")
    waited = time.monotonic() - asked
    thread.join()
    assert response.status_code == 200
    assert response.get_json()["run"]["status"] == "succeeded" and response.get_json()["run"]["stage"] == "done"
    assert waited < 20  # it did not sit out the whole wait


def test_a_run_executing_here_wakes_the_wait_as_it_ends(app, client):
    """No reading of the row over and over while the run executes in this process: its end wakes the request."""
    run_id = stored_run(stored_artifact(), status="running", started_at=utcnow(), worker=worker_id()).id
    request_thread, waiting = threading.get_ident(), threading.Event()
    reads: list[str] = []

    def count_status_reads(conn, cursor, statement, *args) -> None:
        if threading.get_ident() == request_thread and statement.lstrip().upper().startswith("SELECT RUN.STATUS"):
            reads.append(statement)
            waiting.set()

    def execute() -> None:  # an executor: the run is watched while it executes, then its outcome is stored
        with app.app_context(), watch(run_id):
            assert waiting.wait(30)  # the request waits by now
            time.sleep(1.0)  # the run's work: ten polls' worth at WAIT_POLL_S
            run = db.session.get(Run, run_id)
            run.status, run.stage, run.progress, run.finished_at = "succeeded", "done", 1.0, utcnow()
            db.session.commit()
            db.session.remove()

    event.listen(db.engine, "before_cursor_execute", count_status_reads)
    try:
        thread = threading.Thread(target=execute)
        thread.start()
        response = client.get(f"/api/runs/{run_id}?wait=20")
        thread.join()
    finally:
        event.remove(db.engine, "before_cursor_execute", count_status_reads)
    assert response.get_json()["run"]["status"] == "succeeded"
    assert len(reads) == 2  # once before waiting, once when woken (polling would have read it about ten times)


def test_wait_on_a_running_run_answers_it_running_after_the_wait(app, client):
    run_id = stored_run(stored_artifact(), status="running", started_at=utcnow()).id
    response = client.get(f"/api/runs/{run_id}?wait=0.2")
    assert response.status_code == 200 and response.get_json()["run"]["status"] == "running"


def test_without_wait_and_with_other_parameters_nothing_changed(app, client):
    run_id = stored_run(stored_artifact()).id
    assert client.get(f"/api/runs/{run_id}?_=1733468400").get_json()["run"]["status"] == "succeeded"
    assert_error(client.get(f"/api/runs/{run_id}?wait=-1"), 400, "bad_request")
    assert_error(client.get("/api/runs/nope?wait=5"), 404, "not_found")
