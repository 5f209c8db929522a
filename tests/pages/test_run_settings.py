"""Every run setting of the Upload page reaches the stored Run; the sample's columns are matched before the run."""
from __future__ import annotations

import base64
import io
import sys

import pandas as pd
import pytest

from modelwatch.dashboard import run_settings
from modelwatch.extensions import db
from modelwatch.models import Run
from modelwatch.services import runs
from tests.support import dumps


def data_url(data: bytes) -> str:
    return "data:text/csv;base64," + base64.b64encode(data).decode()


def csv_bytes(frame: pd.DataFrame) -> bytes:
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


@pytest.fixture
def pages(live_server):
    """The upload and schema page modules as Dash imported them."""
    app, _ = live_server
    assert app.test_client().get("/upload").status_code == 200
    with app.test_request_context():
        found = {name.rsplit(".", 1)[-1]: module for name, module in sys.modules.items()
                 if name.endswith(("pages.upload", "pages.schema"))}
        yield app, found["upload"], found["schema"]


@pytest.fixture
def sample(cancer) -> pd.DataFrame:
    X, y = cancer
    frame = pd.DataFrame(X.to_numpy()[:60], columns=[f"f{i}" for i in range(X.shape[1])])
    frame["label"] = y.to_numpy()[:60]
    return frame


@pytest.mark.usefixtures("sandbox")
def test_every_setting_from_the_ui_is_in_the_stored_config(pages, forest, sample):
    app, upload, _ = pages
    _card, store, _ = upload.store_model(data_url(dumps(forest)), "forest.pkl", None)
    gates = run_settings.add_gate({}, "performance.latency_ms.10.p95", "max", 250)
    gates = run_settings.add_gate(gates, "quality.metrics.accuracy", "min", 0.8)
    schema = {"schema_version": 1, "features": [{"name": f"f{i}", "type": "float", "min": 0.0, "max": 10.0}
                                                for i in range(30)]}
    href, error = upload.start_run(
        1, store, data_url(csv_bytes(sample)), data_url(csv_bytes(sample.iloc[30:])), "label", schema,
        "all settings", 123, 7, "copula", [10, 1], 17, ["scale", "missing"], "0.25, 1.5", gates)
    assert error is None, error
    run_id = href.rsplit("/", 1)[-1]
    try:
        run = db.session.get(Run, run_id)
        config = run.config
        assert (config["n_samples"], config["seed"], config["generator"]) == (123, 7, "copula")
        assert config["batch_sizes"] == [1, 10] and config["explain"]["max_samples"] == 17
        assert config["drift"]["kinds"] == ["scale", "missing"] and config["drift"]["severities"] == [0.25, 1.5]
        assert config["thresholds"] == {"performance.latency_ms.10.p95": {"max": 250.0},
                                        "quality.metrics.accuracy": {"min": 0.8}}
        assert run.target == "label" and run.name == "all settings"
        assert run.sample_csv and run.current_csv
        assert [f["max"] for f in run.schema["features"]] == [10.0] * 30  # the schema from the Schema page
    finally:
        runs.cancel_run(run_id)


def test_settings_a_person_must_fix_are_said_not_replaced(pages):
    _, upload, _ = pages
    _, alert = upload.start_run(1, {"artifact_id": 1}, None, None, None, None, None, 5, 0, "independent", [1], 10,
                                ["scale"], "0.5, -1", {})
    text = str(alert)
    assert "Rows to generate" in text and "severities" in text  # 5 rows is not silently 1000 (review #6)


@pytest.mark.usefixtures("sandbox")
def test_the_sample_is_matched_to_the_model_before_the_run(pages, forest, sample):
    _, upload, _ = pages
    _card, store, _ = upload.store_model(data_url(dumps(forest)), "forest.pkl", None)
    alert, options, target = upload.preview_sample(data_url(csv_bytes(sample.drop(columns=["f3"]))), store)
    assert target == "label" and "label" in options and "f3" not in options
    assert "29 of the model's 30 features found" in str(alert) and "f3" in str(alert) and alert.color == "warning"
    unrelated = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    alert, _, _ = upload.preview_sample(data_url(csv_bytes(unrelated)), store)
    assert alert.color == "danger" and "0 of the model's 30 features found" in str(alert)


def test_the_schema_page_hands_its_schema_to_a_run(pages):
    _, _, schema_page = pages
    doc = {"schema_version": 1, "features": [{"name": "x", "type": "float"}]}
    assert schema_page.run_with_schema(1, doc) == (doc, "/upload")
    assert schema_page.allow_run(None) is True and schema_page.allow_run(doc) is False


def test_gate_paths_follow_the_batch_sizes():
    assert "performance.latency_ms.10000.p95" in run_settings.gate_paths([10_000])
    assert "performance.latency_ms.10000.p95" not in run_settings.gate_paths([1])
