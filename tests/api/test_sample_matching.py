"""POST /run_tests matches the sample's columns to the model's, or refuses it before any run exists."""
from __future__ import annotations

import io

import pytest
from lightgbm import LGBMClassifier

from modelwatch.core.schema.columns import csv_header
from modelwatch.models import Run
from tests.api.fast import assert_error, fast_config, submit
from tests.support import dumps


@pytest.fixture(scope="module")
def lightgbm_bytes(cancer) -> bytes:
    """LightGBM fitted on the breast-cancer frame: it stores ``mean radius`` as ``mean_radius``."""
    X, y = cancer
    return dumps(LGBMClassifier(n_estimators=10, num_leaves=7, verbose=-1).fit(X, y))


def csv_file(frame) -> tuple[io.BytesIO, str]:
    return io.BytesIO(frame.to_csv(index=False).encode()), "sample.csv"


@pytest.mark.usefixtures("sandbox")
def test_a_lightgbm_model_gets_its_original_sample_renamed_and_measured(client, app, lightgbm_bytes, cancer):
    X, y = cancer
    sample = X.head(120).assign(label=y.head(120))
    config = fast_config(drift={"features": ["mean_radius"], "kinds": ["mean_shift"], "severities": [1.0],
                                "resamples": 0})
    response = submit(client, lightgbm_bytes, sample=csv_file(sample), target="label", config=config)
    body = response.get_json()
    assert response.status_code == 200 and body["run"]["status"] == "succeeded", body
    run = body["run"]
    quality = run["result"]["quality"]
    assert quality["n_rows"] == 120 and quality["metrics"]["accuracy"] > 0.9
    features = {f["name"]: f for f in run["result"]["schema"]["features"]}
    assert features["mean_radius"]["min"] == X["mean radius"].head(120).min()
    assert {f["source"] for f in features.values()} == {"sample"} and run["result"]["data"]["assumed_features"] == []
    stored = app.extensions["sqlalchemy"].session.get(Run, run["id"]).sample_csv
    assert csv_header(stored)[:2] == ["mean_radius", "mean_texture"] and csv_header(stored)[-1] == "label"


@pytest.mark.usefixtures("sandbox")
def test_a_sample_sharing_no_column_is_refused_before_any_run_exists(client, lightgbm_bytes, cancer):
    X, y = cancer
    unrelated = X.head(50).set_axis([f"col{i}" for i in range(X.shape[1])], axis=1).assign(label=y.head(50))
    error = assert_error(submit(client, lightgbm_bytes, sample=csv_file(unrelated), target="label",
                                config=fast_config()), 422, "schema_mismatch")
    assert error["details"]["file"] == "sample" and len(error["details"]["missing"]) == 30
    assert error["details"]["unexpected"][:2] == ["col0", "col1"] and "shares no column" in error["message"]
    partial = X.head(50).drop(columns=["worst area"])
    error = assert_error(submit(client, lightgbm_bytes, current=csv_file(partial), config=fast_config()),
                         422, "schema_mismatch")
    assert error["details"]["file"] == "current" and error["details"]["missing"] == ["worst_area"]
    assert error["details"]["mapped"]["mean radius"] == "mean_radius"
    assert Run.query.count() == 0
