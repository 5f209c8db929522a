"""Scenarios the tests can see: every severity changes the data of every type, and power grows with it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from modelwatch.core.drift import scenarios, section
from modelwatch.core.drift.power import detection_power
from tests.core.suite_context import make_context


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({"rating": rng.choice([1, 2, 3, 4], n, p=[0.1, 0.2, 0.3, 0.4]).astype("int64"),
                         "count": rng.poisson(1.0, n).astype("int64"),
                         "flag": rng.random(n) < 0.5,
                         "x": rng.normal(size=n)})


SCHEMA = {"schema_version": 1, "features": [
    {"name": "rating", "type": "int", "min": 1, "max": 4}, {"name": "count", "type": "int"},
    {"name": "flag", "type": "bool"}, {"name": "x", "type": "float"}], "target": None}


@pytest.mark.parametrize("severity", [0.25, 0.5, 1.0])
def test_integer_mean_shift_keeps_its_size(frame, severity):
    column = frame["count"]
    sigma = column.std(ddof=0)
    shifted = scenarios.apply_column(column, SCHEMA["features"][1], "mean_shift", severity, seed=3)
    assert shifted.dtype == column.dtype
    # plain rounding made a 0.25 sigma shift of a Poisson(1) column vanish; stochastic rounding keeps it on average
    assert (shifted - column).mean() == pytest.approx(severity * sigma, abs=0.06)


@pytest.mark.parametrize("severity", [0.1, 1.0, 3.0])
def test_out_of_range_on_a_bool_leaves_the_range(frame, severity):
    drifted = scenarios.apply_column(frame["flag"], SCHEMA["features"][2], "out_of_range", severity, seed=1)
    moved = drifted.map(lambda v: v is scenarios.UNSEEN_CATEGORY or v == scenarios.UNSEEN_CATEGORY)
    assert moved.sum() == round(min(1.0, 0.2 * severity) * len(frame))
    power = detection_power(frame, SCHEMA, "out_of_range", "flag", severity, n_resamples=10, seed=2)["power"]
    assert power == 1.0  # an unseen value is always visible (inverting a balanced bool never was)


def test_out_of_range_integers_stay_outside(frame):
    drifted = scenarios.apply_column(frame["rating"], SCHEMA["features"][0], "out_of_range", 0.1, seed=1)
    changed = drifted[drifted != frame["rating"]]
    assert len(changed) and ((changed > 4) | (changed < 1)).all()


@pytest.mark.parametrize("severity, least", [(1.0, 0.9), (5.0, 1.0)])
def test_missing_scenario_is_detected(frame, severity, least):
    for feature in ("x", "flag", "rating"):
        power = detection_power(frame, SCHEMA, "missing", feature, severity, n_resamples=10, seed=4)["power"]
        assert power >= least, feature


def test_power_grows_with_severity_on_a_four_valued_integer(frame):
    model = LinearRegression().fit(frame[["rating"]], frame["rating"] * 2.0)
    schema = {**SCHEMA, "features": [SCHEMA["features"][0]]}
    ctx = make_context(model, frame[["rating"]], schema=schema,
                       drift={"kinds": ["out_of_range"], "severities": [0.1, 1.0, 2.0], "resamples": 20})
    out = section.compute(ctx)
    powers = [s["power"] for s in sorted(out["scenarios"], key=lambda s: s["severity"])]
    fpr = out["false_positive_rate"]["per_feature"]["rating"]
    assert [fpr, *powers] == sorted([fpr, *powers]), (fpr, powers)
    assert powers[0] > fpr
    assert {s["test"] for s in out["scenarios"]} == {"chisquare"}  # one test across the sweep
    assert set(out["severity_legend"]) == set(scenarios.KINDS)
