"""POST /api/schema/infer and POST /api/data/generate through the Flask test client."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from tests.support import dumps


def infer(client, sample: bytes | None, model: bytes | None = None, **form):
    data = dict(form)
    if sample is not None:
        data["sample"] = (io.BytesIO(sample), "sample.csv")
    if model is not None:
        data["model"] = (io.BytesIO(model), "model.pkl")
    return client.post("/api/schema/infer", data=data, content_type="multipart/form-data")


def test_infer_from_a_sample_alone(client, churn_frame):
    response = infer(client, churn_frame.to_csv(index=False, sep=";").encode("utf-8-sig"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert set(body) == {"schema", "warnings"}
    schema = body["schema"]
    assert schema["schema_version"] == 1
    assert [f["name"] for f in schema["features"]] == ["plan", "region", "tenure", "monthly"]
    assert schema["target"] == {"name": "churn", "type": "int", "classes": [0, 1]}
    assert {"code": "target_suggested", "feature": "churn"}.items() <= body["warnings"][0].items()


@pytest.mark.usefixtures("sandbox")
def test_infer_merges_the_model_and_reports_conflicts(client, churn_frame, churn_pipeline):
    sample = churn_frame.drop(columns="monthly").to_csv(index=False).encode()
    response = infer(client, sample, dumps(churn_pipeline))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [f["name"] for f in body["schema"]["features"]] == ["plan", "region", "tenure", "monthly"]
    assert ("missing_in_sample", "monthly") in {(w["code"], w["feature"]) for w in body["warnings"]}


def test_infer_refuses_unreadable_samples_with_400(client):
    for data in ("a,b\nJosé,1\n".encode("latin-1"), b"\x00\x01\x02\x03", b""):
        response = infer(client, data)
        assert response.status_code == 400, response.get_json()
        error = response.get_json()["error"]
        assert error["code"] == "bad_request" and error["details"]["sample"]
    assert infer(client, None).status_code == 400


def test_generate_returns_csv_that_respects_the_schema_and_the_seed(client):
    schema = {"schema_version": 1, "features": [
        {"name": "age", "type": "int", "min": 18, "max": 90, "nullable": True, "missing_rate": 0.1,
         "distribution": {"kind": "normal", "mean": 40, "std": 12}},
        {"name": "plan", "type": "categorical", "categories": ["basic", "pro"], "weights": [3, 1]}], "target": None}
    body = {"schema": schema, "n_samples": 500, "seed": 7, "generator": "independent"}
    response = client.post("/api/data/generate", json=body)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    frame = pd.read_csv(io.BytesIO(response.data))
    assert list(frame.columns) == ["age", "plan"] and len(frame) == 500
    assert frame["age"].dropna().between(18, 90).all() and 0.05 < frame["age"].isna().mean() < 0.15
    assert "." not in response.data.decode().splitlines()[1].split(",")[0]  # ints stay ints despite NaN
    assert set(frame["plan"]) == {"basic", "pro"}
    assert client.post("/api/data/generate", json=body).data == response.data


def test_generate_rejects_bad_input_naming_the_field(client):
    bad = {"schema": {"features": [{"name": "a", "type": "float", "min": 5, "max": 1}]}, "n_samples": 10}
    response = client.post("/api/data/generate", json=bad)
    assert response.status_code == 400
    assert "features[0].min" in response.get_json()["error"]["details"]
    good = {"features": [{"name": "a", "type": "float"}, {"name": "b", "type": "float"}]}
    response = client.post("/api/data/generate", json={"schema": good, "generator": "copula"})
    assert response.status_code == 400 and "generator" in response.get_json()["error"]["details"]
    response = client.post("/api/data/generate", json={"schema": good, "n_samples": 0})
    assert response.status_code == 400


def test_copula_generation_from_an_inferred_schema(client):
    rng = np.random.default_rng(0)
    x = rng.normal(size=300)
    sample = pd.DataFrame({"x": x, "w": x + rng.normal(scale=0.3, size=300)}).to_csv(index=False).encode()
    schema = infer(client, sample).get_json()["schema"]
    response = client.post("/api/data/generate", json={"schema": schema, "n_samples": 2000, "generator": "copula"})
    frame = pd.read_csv(io.BytesIO(response.data))
    assert frame.corr(method="spearman").loc["x", "w"] > 0.9


@pytest.mark.usefixtures("sandbox")
def test_infer_from_the_model_alone_and_the_openapi_document(client, churn_pipeline):
    body = infer(client, None, dumps(churn_pipeline)).get_json()
    plan = body["schema"]["features"][0]
    assert plan["name"] == "plan" and plan["categories"] == ["basic", "plus", "pro"] and body["warnings"] == []
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "text/csv" in paths["/api/data/generate"]["post"]["responses"]["200"]["content"]
    assert "multipart/form-data" in paths["/api/schema/infer"]["post"]["requestBody"]["content"]
