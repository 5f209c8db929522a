"""Scenario frames predicted together give the same figures as one model call per scenario, in fewer calls."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

from modelwatch.core.drift import section
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
