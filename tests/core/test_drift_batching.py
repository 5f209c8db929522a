"""Scenario frames predicted together give the same figures as one model call per scenario, in fewer calls."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelwatch.core.drift import impact, scenarios, section
from tests.core.suite_context import make_context

SCHEMA = {"schema_version": 1, "features": [
    {"name": "x1", "type": "float"}, {"name": "x2", "type": "float"}, {"name": "n", "type": "int"}], "target": None}
DRIFT = {"kinds": ["mean_shift", "scale", "out_of_range", "missing"], "severities": [0.5, 1.0, 2.0], "resamples": 2}
TIMING = {"seconds"}


class CountingLinear(LinearRegression):
    """A linear model that counts its predict calls (and refuses NaN, as sklearn does)."""

    calls = 0

    def predict(self, X):
        type(self).calls += 1
        return super().predict(X)


class CountingLogistic(LogisticRegression):
    calls = 0

    def predict_proba(self, X):
        type(self).calls += 1
        return super().predict_proba(X)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.normal(5, 2, size=300),
                      "n": rng.poisson(3, 300).astype("int64")})
    return X, 2 * X["x1"] - X["x2"] + 0.5 * X["n"]


@pytest.mark.slow  # every drift scenario predicted twice, batched and one call each
@pytest.mark.parametrize("kind", ["regressor", "classifier"])
def test_batched_scenarios_equal_one_call_each(data, kind):
    X, y = data
    cls = CountingLinear if kind == "regressor" else CountingLogistic
    model = cls().fit(X, y if kind == "regressor" else (y > y.median()).astype(int))
    sample = X.assign(y=y if kind == "regressor" else (y > y.median()).astype(int))
    results = {}
    for rows in (1, 200_000):
        cls.calls = 0
        ctx = make_context(model, X, schema=SCHEMA, sample=sample, target="y", drift={**DRIFT, "batch_rows": rows})
        out = section.compute(ctx)
        results[rows] = ({k: v for k, v in out.items() if k not in TIMING}, cls.calls)
    (single, single_calls), (batched, batched_calls) = results[1], results[200_000]
    assert batched["scenarios"] == single["scenarios"]  # exact: same outputs, same errors, same gates
    assert batched["breaking_points"] == single["breaking_points"]
    assert any(s["error"] for s in batched["scenarios"]) and any(s["impact"] for s in batched["scenarios"])
    assert batched_calls < single_calls / 2


@pytest.mark.parametrize("kind", ["linear", "forest"])
@pytest.mark.parametrize("columns", [["x1", "x2", "n"], ["x1", "x2"]])  # mixed dtypes; one dtype (one matrix)
def test_changed_rows_alone_give_the_whole_frames_figures(data, kind, columns):
    X, y = data
    X = X[columns]
    schema = {**SCHEMA, "features": [f for f in SCHEMA["features"] if f["name"] in columns]}
    model = LinearRegression().fit(X, y) if kind == "linear" else \
        RandomForestClassifier(n_estimators=20, random_state=0).fit(X, (y > y.median()).astype(int))
    ctx = make_context(model, X, schema=schema, drift=DRIFT)
    out = section.compute(ctx)
    before = impact.model_outputs(model, ctx.info, X)
    std = float(np.std(before.score))
    compared = 0
    for s in out["scenarios"]:
        whole = scenarios.apply(X, schema, s["kind"], s["feature"], s["severity"], s["seed"])
        try:  # one model call on the whole drifted frame, as before rows were left out
            expected = impact.scenario_impact(before, impact.model_outputs(model, ctx.info, whole), std)
        except ValueError:
            assert s["error"] and "ValueError" in s["error"]
            continue
        assert {k: s[k] for k in expected} == expected
        compared += 1
    assert compared > len(out["scenarios"]) / 2


def test_a_class_first_predicted_on_drifted_rows_keeps_its_name():
    before = impact.Outputs(np.array(["no", "no", "no"]), np.array(["no", "no", "no"]), "labels")
    after = before.with_rows(np.array([1]), impact.Outputs(np.array(["maybe"]), np.array(["maybe"]), "labels"))
    assert after.labels.tolist() == ["no", "maybe", "no"] and before.labels.tolist() == ["no", "no", "no"]
    assert impact.flip_rate(before, after) == pytest.approx(1 / 3)
