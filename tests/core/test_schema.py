"""Schemas from the model, checked against it, and merged with a sample CSV's inference."""
from __future__ import annotations

import numpy as np
import pytest

from modelwatch.core.data.synthetic import generate
from modelwatch.core.model.introspect import describe
from modelwatch.core.schema.from_csv import infer_frame, read_csv_bytes
from modelwatch.core.schema.from_model import check_against_model, schema_from_model, validate_for_model
from modelwatch.core.schema.merge import merge
from modelwatch.errors import SchemaMismatch


@pytest.fixture(scope="module")
def churn_info(churn_pipeline):
    return describe(churn_pipeline)


def codes(warnings):
    return {(w["code"], w["feature"]) for w in warnings}


def test_schema_from_model_uses_encoder_categories(churn_info, churn_pipeline):
    schema = validate_for_model(schema_from_model(churn_info), churn_info)
    features = {f["name"]: f for f in schema["features"]}
    assert list(features) == ["plan", "region", "tenure", "monthly"]
    assert features["plan"]["type"] == "categorical" and features["plan"]["categories"] == ["basic", "plus", "pro"]
    assert features["tenure"]["type"] == "float"
    proba = churn_pipeline.predict_proba(generate(schema, 50, seed=0))
    assert proba.shape == (50, 2)


def test_check_against_model_names_missing_unexpected_and_types(churn_info, forest):
    schema = schema_from_model(churn_info)
    schema["features"] = [f for f in schema["features"] if f["name"] != "monthly"]
    schema["features"].append({"name": "extra", "type": "float"})
    schema["features"][0] = {"name": "plan", "type": "float"}
    with pytest.raises(SchemaMismatch) as err:
        check_against_model(schema, churn_info)
    assert err.value.status == 422 and err.value.code == "schema_mismatch"
    assert err.value.details["missing"] == ["monthly"] and err.value.details["unexpected"] == ["extra"]
    assert "text categories" in err.value.details["types"]["plan"]
    array_info = describe(forest)
    array_schema = schema_from_model(array_info)
    array_schema["features"][0] = {"name": "f0", "type": "categorical", "categories": ["a", "b"]}
    with pytest.raises(SchemaMismatch) as err:
        check_against_model(array_schema, array_info)
    assert (err.value.details["missing"], err.value.details["unexpected"]) == ([], [])
    assert list(err.value.details["types"]) == ["f0"] and "numeric array" in err.value.message


def test_merge_with_a_sample_reports_every_conflict(churn_info, churn_frame, churn_pipeline):
    sample = churn_frame.drop(columns=["monthly"]).assign(extra=np.arange(len(churn_frame)) % 3)
    sample["region"] = sample["region"].replace("west", "mars")
    schema, warnings, parsed = infer_frame(read_csv_bytes(sample.to_csv(index=False).encode()),
                                           churn_info["feature_names"])
    merged, warnings = merge(churn_info, schema, warnings, parsed)
    merged = validate_for_model(merged, churn_info)
    assert [f["name"] for f in merged["features"]] == churn_info["feature_names"]
    assert {("missing_in_sample", "monthly"), ("unused_column", "extra"), ("unknown_category", "region"),
            ("unseen_in_sample", "region"), ("target_suggested", "churn")} <= codes(warnings)
    region = next(f for f in merged["features"] if f["name"] == "region")
    assert region["categories"] == ["east", "north", "south", "west"]
    assert region["weights"][3] < 0.05 and sum(region["weights"]) == pytest.approx(1.0)
    tenure = next(f for f in merged["features"] if f["name"] == "tenure")
    assert (tenure["min"], tenure["max"]) == (churn_frame["tenure"].min(), churn_frame["tenure"].max())
    assert merged["target"] == {"name": "churn", "type": "int", "classes": [0, 1]}
    assert set(merged["copula"]["features"]) == {"plan", "region", "tenure"}
    frame = generate(merged, 200, seed=0, generator="copula")
    assert churn_pipeline.predict_proba(frame).shape == (200, 2)


def test_merge_matches_an_array_model_by_position(forest, cancer):
    info = describe(forest)
    X, _ = cancer
    schema, warnings, parsed = infer_frame(read_csv_bytes(X.head(60).to_csv(index=False).encode()),
                                           info["feature_names"])
    merged, warnings = merge(info, schema, warnings, parsed)
    check_against_model(merged, info)
    assert ("matched_by_position", None) in codes(warnings)
    assert merged["features"][0]["name"] == "f0"
    assert merged["features"][0]["min"] == X["mean radius"].head(60).min()
    assert forest.predict(generate(merged, 20, seed=0).to_numpy()).shape == (20,)


def test_merge_without_a_model_keeps_the_sample_schema():
    schema = {"schema_version": 1, "features": [{"name": "a", "type": "float"}], "target": None}
    merged, warnings = merge(None, schema, [{"code": "few_rows", "feature": None, "message": "m"}])
    assert merged == schema and warnings[0]["code"] == "few_rows"
