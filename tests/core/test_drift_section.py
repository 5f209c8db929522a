"""The drift section end to end on a classifier with categoricals: scenarios, real current data, JSON shape."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from modelwatch.core.drift import scenarios, section
from modelwatch.core.drift.power import power_interval
from modelwatch.core.results.jsonable import to_jsonable
from tests.core.suite_context import make_context

SCHEMA = {"schema_version": 1, "features": [
    {"name": "plan", "type": "categorical", "categories": ["basic", "plus", "pro"]},
    {"name": "region", "type": "categorical", "categories": ["north", "south", "east", "west"]},
    {"name": "tenure", "type": "float", "min": 1, "max": 71},
    {"name": "monthly", "type": "float"},
], "target": {"name": "churn", "type": "int", "classes": [0, 1]}}
CONTRACT_FIELDS = {"feature", "kind", "severity", "test", "statistic", "p_value", "drift_detected",
                   "prediction_shift", "flip_rate", "accuracy_drop"}


def test_section_with_sample_current_and_labels(churn_frame, churn_pipeline):
    current = churn_frame.iloc[:250].copy()  # real current data: other rows, another length than the reference
    current["monthly"] = current["monthly"] + 15
    ctx = make_context(churn_pipeline, churn_frame.drop(columns="churn"), schema=SCHEMA, sample=churn_frame,
                       current=current, target="churn",
                       drift={"kinds": ["mean_shift", "category_shift", "missing"], "severities": [1.0, 2.0],
                              "resamples": 4})
    out = to_jsonable(section.compute(ctx))
    json.dumps(out, allow_nan=False)
    assert out["reference"] == "sample" and out["n_reference"] == len(churn_frame)
    kinds = {(s["feature"], s["kind"]) for s in out["scenarios"]}
    assert ("monthly", "mean_shift") in kinds and ("plan", "category_shift") in kinds
    assert ("plan", "mean_shift") not in kinds  # mean shifts only apply to numbers
    for s in out["scenarios"]:
        assert set(s) >= CONTRACT_FIELDS
        if s["error"] is None:
            assert 0 <= s["flip_rate"] <= 1 and s["power"] is not None
    # the scaler + logistic pipeline cannot take NaN: the missing scenario records the model's error
    missing = [s for s in out["scenarios"] if s["kind"] == "missing" and s["feature"] == "monthly"]
    assert missing and all(s["error"] and "ValueError" in s["error"] for s in missing)
    # ... and a model that raised did not hold: the first severity it raised at is the breaking point
    points = {(p["feature"], p["kind"]): p for p in out["breaking_points"]}
    assert points[("monthly", "missing")]["severity"] == 1.0
    assert "ValueError" in points[("monthly", "missing")]["error"]
    cur = out["current"]
    flags = {c["feature"]: c["drift_detected"] for c in cur["columns"]}
    assert flags == {"plan": False, "region": False, "tenure": False, "monthly": True}
    assert cur["dataset_drift"] is False and cur["share_drifted"] == 0.25
    # no row of the current data is a reference row: no flip rate, the predicted-class shares moved instead
    assert cur["n_rows"] == 250 and cur["prediction_drift"]["flip_rate"] is None
    assert cur["prediction_drift"]["class_share_shift"] > 0.05
    assert cur["prediction_drift"]["prediction_shift"] > 0 and cur["prediction_drift"]["test"]["drift_detected"]
    assert set(cur["quality_drift"]["delta"]) == {"accuracy", "f1_macro"}
    assert out["multivariate"]["drift_detected"] is True
    strongest = out["strongest"]
    assert strongest["impact"] == max(s["impact"] for s in out["scenarios"]
                                      if s["feature"] is not None and s["impact"] is not None)
    # the explainability section replays the strongest scenario with the public interface
    replay = scenarios.apply(churn_frame, SCHEMA, strongest["kind"], strongest["feature"], strongest["severity"],
                             strongest["seed"])
    assert not replay.equals(churn_frame)
    assert 0 <= out["false_positive_rate"]["overall"] <= 1
    measured = [s for s in out["scenarios"] if s["power"] is not None]
    assert measured
    for s in measured:  # each power is a share of its resamples, with that share's exact interval
        n = s["power_resamples"]
        assert s["power_ci"] == power_interval(round(s["power"] * n), n)
        assert s["power_ci"][0] <= s["power"] <= s["power_ci"][1]
    fpr = out["false_positive_rate"]
    pooled = fpr["n_resamples"] * len(fpr["per_feature"])
    assert fpr["overall_ci"] == power_interval(round(fpr["overall"] * pooled), pooled)


def test_section_on_generated_data_without_current(churn_frame, churn_pipeline):
    rng = np.random.default_rng(1)
    data = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], 300),
                         "region": rng.choice(["north", "south", "east", "west"], 300),
                         "tenure": rng.uniform(1, 71, 300), "monthly": rng.normal(50, 15, 300)})
    ctx = make_context(churn_pipeline, data, schema=SCHEMA,
                       drift={"features": ["tenure"], "kinds": ["scale", "out_of_range"], "severities": [1.0],
                              "resamples": 3})
    out = section.compute(ctx)
    assert out["reference"] == "generated" and out["current"] is None and out["multivariate"] is None
    assert [(s["feature"], s["kind"]) for s in out["scenarios"]] == [("tenure", "scale"), ("tenure", "out_of_range")]
    assert all(s["accuracy_drop"] is None for s in out["scenarios"])
    assert out["breaking_points"][0]["gates"] == "default"


def test_the_budget_caps_the_scenarios_and_the_result_states_it(churn_frame, churn_pipeline):
    drift = {"kinds": ["mean_shift", "category_shift"], "severities": [1.0, 2.0], "resamples": 7}
    full = section.compute(make_context(churn_pipeline, churn_frame.drop(columns="churn"), schema=SCHEMA,
                                        sample=churn_frame, target="churn", drift=drift))
    budget = full["budget"]
    assert budget["scenarios_planned"] == budget["scenarios_run"] == len(full["scenarios"]) and not full["truncated"]
    assert budget["power_resamples"] == 7 and {s["power_resamples"] for s in full["scenarios"]} == {7}
    assert budget["power_method"].startswith("resampled")
    capped = section.compute(make_context(churn_pipeline, churn_frame.drop(columns="churn"), schema=SCHEMA,
                                          sample=churn_frame, target="churn", drift={**drift, "max_seconds": 1e-6}))
    assert capped["truncated"] and capped["budget"]["scenarios_run"] == len(capped["scenarios"]) == 0
    assert capped["budget"]["scenarios_planned"] == budget["scenarios_planned"]
    assert capped["budget"]["max_seconds"] == 1e-6
