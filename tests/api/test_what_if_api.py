"""POST /api/runs/<id>/what_if: an edited row of a finished run, checked against its schema, predicted and explained
again in the sandbox."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.api.fast import assert_error, fast_config, submit


@pytest.fixture
def finished_run(client, forest_bytes, cancer, sandbox):
    X, y = cancer
    frame = pd.DataFrame(X.to_numpy()[::5], columns=[f"f{i}" for i in range(X.shape[1])])
    frame["label"] = y.to_numpy()[::5]
    out = io.StringIO()
    frame.to_csv(out, index=False)
    run = submit(client, forest_bytes, config=fast_config(), target="label",
                 sample=(io.BytesIO(out.getvalue().encode()), "sample.csv")).get_json()["run"]
    assert run["status"] == "succeeded", run["error"]
    return run, frame.drop(columns="label")


def test_an_edited_row_is_predicted_and_explained_again(client, finished_run, forest):
    run, frame = finished_run
    row = frame.iloc[0].to_dict()
    first = client.post(f"/api/runs/{run['id']}/what_if", json={"row": row})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    expected = forest.predict_proba(frame.iloc[[0]].to_numpy())[0]
    assert body["probabilities"] == pytest.approx({"0": expected[0], "1": expected[1]})
    assert body["prediction"] == forest.predict(frame.iloc[[0]].to_numpy())[0]
    explanation = body["explanation"]
    assert explanation["explainer"] == "TreeExplainer" and explanation["output"] == "probability"
    assert set(explanation["contributions"]) == set(frame.columns)
    total = explanation["base_value"] + sum(explanation["contributions"].values())
    assert total == pytest.approx(explanation["prediction"], abs=1e-6)

    # the most benign-looking row of the sample, written in as an edit: the forest changes its mind
    benign = frame.iloc[int(forest.predict_proba(frame.to_numpy())[:, 1].argmax())].to_dict()
    edited = {**row, **{k: benign[k] for k in ("f20", "f22", "f23", "f27", "f7", "f2", "f3")}}
    second = client.post(f"/api/runs/{run['id']}/what_if", json={"row": edited}).get_json()
    assert second["probabilities"]["1"] != pytest.approx(body["probabilities"]["1"])
    assert second["row"]["f27"] == benign["f27"]


def test_rows_that_do_not_fit_the_schema_are_refused_before_the_sandbox(client, finished_run):
    run, frame = finished_run
    row = frame.iloc[0].to_dict()
    url = f"/api/runs/{run['id']}/what_if"
    error = assert_error(client.post(url, json={"row": {**row, "f3": "large"}}), 400, "bad_request")
    assert error["details"]["fields"] == {"f3": "must be a number"}
    missing = {k: v for k, v in row.items() if k != "f0"}
    error = assert_error(client.post(url, json={"row": {**missing, "colour": 1}}), 400, "bad_request")
    assert error["details"]["fields"] == {"f0": "is missing", "colour": "is not a feature of the model"}
    assert_error(client.post(url, json={"rows": [row]}), 400, "bad_request")
    assert_error(client.post("/api/runs/nope/what_if", json={"row": row}), 404, "not_found")
    doc = client.get("/api/openapi.json").get_json()
    operation = doc["paths"]["/api/runs/{run_id}/what_if"]["post"]
    assert {"200", "400", "404", "409", "422"} <= set(operation["responses"])
