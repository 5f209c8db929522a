"""Run use cases against a real database: a run always ends succeeded or failed, with its reason."""
from __future__ import annotations

import io

import pytest

from modelwatch.errors import NotFound
from modelwatch.execution.executors import execute_queued
from modelwatch.models import Run
from modelwatch.services import artifact_store, artifacts, runs
from tests.factories import never_returning_onnx
from tests.support import dumps

pytestmark = pytest.mark.usefixtures("sandbox")


@pytest.fixture
def artifact(app, forest_bytes):
    return artifacts.store_upload(forest_bytes, "forest.pkl")


def test_a_submitted_run_is_executed_and_stored(artifact):
    run = runs.submit_run(artifact, config={"n_samples": 50, "batch_sizes": [1]}, source="ui")
    stored = runs.get_run(run.id)
    assert stored.status == "succeeded" and stored.source == "ui" and stored.stage == "done"
    assert stored.started_at <= stored.finished_at and stored.worker
    assert stored.result["performance"]["latency_ms"]["1"]["n_calls"] >= 5
    assert stored.schema["features"][0]["name"] == "f0" and stored.config["n_samples"] == 50


def test_a_run_over_its_time_limit_fails_with_run_timeout(app):
    endless = artifacts.store_upload(never_returning_onnx(), "endless.onnx")  # a run can only end by its deadline
    run = runs.submit_run(endless, config={"n_samples": 50, "timeout_s": 1})
    stored = runs.get_run(run.id)
    assert stored.status == "failed" and stored.error["code"] == "run_timeout"
    assert "1 s" in stored.error["message"] and stored.result is None


def test_only_queued_runs_are_executed(artifact):
    run = runs.submit_run(artifact, config={"n_samples": 20, "batch_sizes": [1]})
    finished_at = run.finished_at
    execute_queued(run.id)
    assert runs.get_run(run.id).finished_at == finished_at


def test_artifacts_are_inspected_once_and_kept_with_their_bytes(app, forest_bytes, frame_logistic):
    first = artifacts.store_upload(forest_bytes, "a/b/forest.pkl", name="v1")
    again = artifacts.store_upload(io.BytesIO(forest_bytes), "other.pkl", name="v2")  # a stream, as a request gives
    assert again.id == first.id and first.name == "v1" and first.filename == "forest.pkl"
    assert first.info["n_features"] == 30 and first.size == len(forest_bytes)
    # on disk, content-addressed, not in the row
    assert first.data is None and (artifact_store.artifact_dir() / first.sha256).read_bytes() == forest_bytes
    assert artifact_store.load(first) == forest_bytes
    other = artifacts.store_upload(dumps(frame_logistic), "logistic.pkl")
    assert other.id != first.id and other.info["feature_names"][0] == "mean radius"


def test_deleting_a_run_keeps_its_artifact(artifact):
    run = runs.submit_run(artifact, config={"n_samples": 20, "batch_sizes": [1]})
    runs.delete_run(run.id)
    with pytest.raises(NotFound):
        runs.get_run(run.id)
    assert runs.list_runs()[1] == 0 and artifacts.get_artifact(artifact.id).sha256 == artifact.sha256
    assert Run.query.one().deleted_at is not None  # soft: `flask gc` removes the row later
