"""Impact on a linear model (where the expected prediction shift is known exactly), gates and breaking points."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from modelwatch.core.drift import impact, section
from modelwatch.core.results.jsonable import to_jsonable
from tests.core.suite_context import make_context

SCHEMA = {"schema_version": 1, "features": [{"name": "x1", "type": "float"}, {"name": "x2", "type": "float"}],
          "target": None}


@pytest.fixture(scope="module")
def linear():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x1": rng.normal(0, 1, 400), "x2": rng.normal(5, 1, 400)})
    y = 3 * X["x1"] - 2 * X["x2"] + 1
    return LinearRegression().fit(X, y), X, y


def test_prediction_shift_is_exact_for_a_linear_model(linear):
    model, X, y = linear
    s1, s2 = X["x1"].std(ddof=0), X["x2"].std(ddof=0)
    sample = X.assign(y=y)
    gate = {"drift.scenario.abs_prediction_shift": {"max": 2.25 * s1}, "performance.latency_ms.1.p95": {"max": 1}}
    ctx = make_context(model, X, schema=SCHEMA, sample=sample, target="y", thresholds=gate,
                       drift={"features": "all", "kinds": ["mean_shift"], "severities": [0.5, 1.0, 2.0],
                              "resamples": 3})
    out = section.compute(ctx)
    by_key = {(s["feature"], s["severity"]): s for s in out["scenarios"]}
    var_y = np.var(y)
    for k in (0.5, 1.0, 2.0):
        assert by_key[("x1", k)]["prediction_shift"] == pytest.approx(3 * k * s1, abs=1e-9)
        assert by_key[("x2", k)]["prediction_shift"] == pytest.approx(-2 * k * s2, abs=1e-9)
        assert by_key[(None, k)]["prediction_shift"] == pytest.approx(3 * k * s1 - 2 * k * s2, abs=1e-9)
        # labels kept, features shifted: R^2 falls by exactly shift^2 / var(y)
        assert by_key[("x1", k)]["accuracy_drop"] == pytest.approx((3 * k * s1) ** 2 / var_y, abs=1e-9)
        assert by_key[("x1", k)]["flip_rate"] is None
    pred_std = np.std(model.predict(X))
    assert by_key[("x1", 1.0)]["impact"] == pytest.approx(3 * s1 / pred_std, abs=1e-9)
    points = {(p["feature"], p["kind"]): p for p in out["breaking_points"]}
    assert points[("x1", "mean_shift")]["severity"] == 1.0
    assert points[("x2", "mean_shift")]["severity"] == 2.0
    assert points[("x1", "mean_shift")]["gates"] == "config"
    assert out["gates"] == {"drift.scenario.abs_prediction_shift": {"max": 2.25 * s1}}
    assert [r["feature"] for r in out["sensitivity"]] == ["x1", "x2"]
    assert out["strongest"]["feature"] == "x1" and out["strongest"]["severity"] == 2.0
    assert to_jsonable(out) == to_jsonable(to_jsonable(out))  # strict JSON, stable


def test_classifier_impact_fields():
    before = impact.Outputs(np.array([0.2, 0.6, 0.9, 0.4]), np.array([0, 1, 1, 0]), "binary")
    after = impact.Outputs(np.array([0.6, 0.6, 0.7, 0.4]), np.array([1, 1, 1, 0]), "binary")
    out = impact.scenario_impact(before, after, pred_std=0.0)
    assert out["prediction_shift"] == pytest.approx(0.05)
    assert out["flip_rate"] == 0.25 and out["impact"] == 0.25
    multi = impact.Outputs(np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]]), np.array([0, 1]), "multiclass")
    moved = impact.Outputs(np.array([[0.0, 0.5, 0.5], [0.0, 1.0, 0.0]]), np.array([1, 1]), "multiclass")
    assert impact.prediction_shift(multi, moved) == pytest.approx(0.25)


def test_gates_default_and_failures():
    gates, source = impact.applicable_gates({"quality.metrics.accuracy": {"min": 0.9}})
    assert source == "config"
    metrics = impact.gate_metrics({"prediction_shift": -0.1, "flip_rate": 0.2}, {"accuracy": 0.85})
    assert impact.failed_gates(metrics, gates) == [
        {"metric": "quality.metrics.accuracy", "op": "min", "threshold": 0.9, "value": 0.85}]
    assert metrics["drift"]["scenario"]["abs_prediction_shift"] == 0.1
    assert impact.applicable_gates({}) == (impact.DEFAULT_GATES, "default")
