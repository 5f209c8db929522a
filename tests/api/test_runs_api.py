"""The run endpoints of CONTRACT.md through the Flask test client, on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import json

import pytest

from tests.api.fast import assert_error, fast_config, submit
from tests.support import dumps

RUN_KEYS = {"id", "status", "stage", "progress", "source", "created_at", "started_at", "finished_at", "duration_s",
            "model", "config", "error", "result", "gates", "links"}
MODEL_KEYS = {"name", "filename", "sha256", "format", "size_bytes", "type", "task", "n_features", "feature_names",
              "classes"}


@pytest.mark.usefixtures("sandbox")
def test_submit_runs_the_suite_and_returns_a_contract_run(client, forest_bytes):
    config = fast_config(n_samples=200, batch_sizes=[1, 50])
    response = submit(client, forest_bytes, name="cancer forest", config=config)
    assert response.status_code == 200, response.get_json()
    run = response.get_json()["run"]
    assert set(run) >= RUN_KEYS and set(run["model"]) >= MODEL_KEYS
    assert run["status"] == "succeeded" and run["progress"] == 1.0 and run["source"] == "api"
    assert run["model"]["type"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert run["model"]["task"] == "classification" and run["model"]["n_features"] == 30
    assert run["model"]["classes"] == [0, 1] and run["name"] == "cancer forest"
    latency = run["result"]["performance"]["latency_ms"]
    assert set(latency) == {"1", "50"}
    assert 0 < latency["1"]["p50"] <= latency["1"]["p95"] <= latency["1"]["p99"] <= latency["1"]["max"]
    assert latency["1"]["n_calls"] >= 5
    assert run["result"]["performance"]["throughput_rows_per_s"]["50"] > 0
    assert run["result"]["data"]["n_samples"] == 200
    assert response.headers["Location"] == f"/api/runs/{run['id']}"
    assert run["links"]["self"].endswith(f"/api/runs/{run['id']}")


@pytest.mark.usefixtures("sandbox")
def test_alias_endpoint_and_reading_listing_deleting(client, forest_bytes, diabetes_regressor):
    first = submit(client, forest_bytes, config=fast_config()).get_json()["run"]
    form = {"model": (io.BytesIO(dumps(diabetes_regressor)), "reg.joblib"), "config": fast_config()}
    second = client.post("/api/runs", data=form, content_type="multipart/form-data").get_json()["run"]
    assert second["model"]["task"] == "regression" and second["model"]["feature_names"][0] == "age"

    listing = client.get("/api/runs").get_json()
    assert listing["total"] == 2 and [r["id"] for r in listing["runs"]] == [second["id"], first["id"]]
    assert all("result" not in r for r in listing["runs"])
    assert client.get("/api/runs?limit=1&offset=1").get_json()["runs"][0]["id"] == first["id"]
    assert client.get("/api/runs?model=reg").get_json()["total"] == 1
    assert client.get("/api/runs?status=failed").get_json()["total"] == 0

    assert client.get(f"/api/runs/{first['id']}").get_json()["run"]["result"]["performance"]
    assert client.delete(f"/api/runs/{first['id']}").status_code == 204
    assert_error(client.get(f"/api/runs/{first['id']}"), 404, "not_found")
    assert client.get("/api/runs").get_json()["total"] == 1


@pytest.mark.usefixtures("sandbox")
def test_the_same_file_is_stored_once(client, app, forest_bytes):
    from modelwatch.models import ModelArtifact

    for _ in range(2):
        assert submit(client, forest_bytes, config=fast_config(n_samples=20)).status_code == 200
    assert ModelArtifact.query.count() == 1


def test_files_that_are_not_models_get_a_clear_4xx(client):
    assert_error(submit(client, b"hello, this is a text file"), 415, "unsupported_format")
    assert_error(submit(client, b""), 422, "corrupt_model")
    assert_error(submit(client, b"\x80\x04\x95\x10\x00\x00"), 422, "corrupt_model")
    assert_error(submit(client, dumps({"not": "a model"})), 422, "not_a_model")
    assert client.get("/api/runs").get_json()["total"] == 0


def test_malformed_requests_are_400(client, forest_bytes):
    missing = client.post("/run_tests", data={}, content_type="multipart/form-data")
    assert "model" in assert_error(missing, 400, "bad_request")["details"]["fields"]["files"]
    assert_error(submit(client, forest_bytes, config="{not json"), 400, "bad_request")
    assert_error(submit(client, forest_bytes, query="?wait=9999"), 400, "bad_request")
    assert_error(client.get("/api/runs?limit=0"), 400, "bad_request")


@pytest.mark.usefixtures("sandbox")
def test_schema_that_does_not_fit_the_model_is_422(client, forest_bytes):
    schema = {"schema_version": 1, "features": [{"name": "f0", "type": "float"}, {"name": "extra", "type": "float"}]}
    error = assert_error(submit(client, forest_bytes, schema=json.dumps(schema)), 422, "schema_mismatch")
    assert "f1" in error["details"]["missing"] and error["details"]["unexpected"] == ["extra"]


@pytest.mark.usefixtures("sandbox")
def test_a_model_that_raises_on_every_row_gives_a_failed_run(client, frame_logistic, cancer):
    features = [{"name": name, "type": "float", "nullable": True, "missing_rate": 1.0 if i == 0 else 0.0,
                 "distribution": {"kind": "normal", "mean": 0.0, "std": 1.0}}
                for i, name in enumerate(cancer[0].columns)]
    schema = {"schema_version": 1, "features": features}
    response = submit(client, dumps(frame_logistic), schema=json.dumps(schema), config=fast_config(n_samples=20))
    run = response.get_json()["run"]
    assert response.status_code == 200 and run["status"] == "failed"
    assert run["error"]["code"] == "model_error" and "ValueError" in run["error"]["message"]
    assert client.get(f"/api/runs/{run['id']}").get_json()["run"]["error"]["code"] == "model_error"


def test_errors_on_api_paths_are_json(client):
    assert_error(client.get("/api/nothing-here"), 404, "not_found")
    assert_error(client.put("/api/runs/abc"), 405, "method_not_allowed")
    assert_error(client.get("/run_tests"), 405, "method_not_allowed")


def test_uploads_over_the_limit_are_413(db_url):
    from modelwatch.app import create_app
    from tests.conftest import make_config

    app = create_app(make_config(db_url, MAX_UPLOAD_MB=1))
    big = b"\x80\x04" + b"\x00" * (3 * 1024 * 1024)
    assert_error(submit(app.test_client(), big), 413, "payload_too_large")


def test_health(client):
    body = client.get("/api/health").get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["executor"] == "inline" and body["version"]
