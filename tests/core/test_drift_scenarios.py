"""Drift scenarios: each kind moves the data by the documented amount, reproducibly, and severity 0 changes nothing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from modelwatch.core.drift import scenarios

SCHEMA = {"schema_version": 1, "features": [
    {"name": "x", "type": "float", "min": -5.0, "max": 5.0},
    {"name": "n", "type": "int"},
    {"name": "c", "type": "categorical", "categories": ["a", "b", "rare"]},
    {"name": "flag", "type": "bool"},
], "target": None}


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 1000
    return pd.DataFrame({"x": rng.normal(1, 2, n), "n": rng.integers(0, 100, n),
                         "c": rng.choice(["a", "b", "rare"], n, p=[0.6, 0.35, 0.05]), "flag": rng.random(n) < 0.8,
                         "label": rng.integers(0, 2, n)})


@pytest.mark.parametrize("kind", scenarios.KINDS)
def test_severity_zero_changes_nothing(frame, kind):
    pd.testing.assert_frame_equal(scenarios.apply(frame, SCHEMA, kind, None, 0.0, 1), frame)


def test_mean_shift_and_scale_are_exact(frame):
    sigma = frame["x"].std(ddof=0)
    shifted = scenarios.apply(frame, SCHEMA, "mean_shift", "x", 1.5, 0)
    np.testing.assert_allclose(shifted["x"] - frame["x"], 1.5 * sigma, atol=1e-12)
    scaled = scenarios.apply(frame, SCHEMA, "scale", "x", 1.0, 0)
    assert scaled["x"].var(ddof=0) == pytest.approx(2 * frame["x"].var(ddof=0), rel=1e-12)
    assert scaled["x"].mean() == pytest.approx(frame["x"].mean(), abs=1e-12)
    assert (scenarios.apply(frame, SCHEMA, "mean_shift", "n", 1.0, 0)["n"] % 1 == 0).all()
    pd.testing.assert_frame_equal(shifted.drop(columns="x"), frame.drop(columns="x"))


def test_category_shift_moves_rows_to_the_rarest_category(frame):
    out = scenarios.apply(frame, SCHEMA, "category_shift", "c", 1.0, 0)
    moved = (out["c"] != frame["c"]).sum()
    assert (out["c"] == "rare").sum() == pytest.approx((frame["c"] == "rare").sum() + moved)
    assert (out["c"] == "rare").sum() - (frame["c"] == "rare").sum() == moved
    assert moved <= 200
    flags = scenarios.apply(frame, SCHEMA, "category_shift", "flag", 1.0, 0)["flag"]
    assert flags.dtype == bool and flags.sum() < frame["flag"].sum()


def test_missing_and_out_of_range(frame):
    out = scenarios.apply(frame, SCHEMA, "missing", None, 1.0, 3)
    for name in ("x", "n", "c", "flag"):
        assert out[name].isna().sum() == 200
    assert out["label"].equals(frame["label"])
    wild = scenarios.apply(frame, SCHEMA, "out_of_range", "x", 2.0, 3)["x"]
    changed = wild[wild != frame["x"]]
    assert len(changed) == 400 and ((changed > 5) | (changed < -5)).all()
    unseen = scenarios.apply(frame, SCHEMA, "out_of_range", "c", 0.5, 3)["c"]
    assert (unseen == scenarios.UNSEEN_CATEGORY).sum() == 100


def test_same_seed_same_frame_and_errors(frame):
    a = scenarios.apply(frame, SCHEMA, "missing", "x", 1.0, 42)
    b = scenarios.apply(frame, SCHEMA, "missing", "x", 1.0, 42)
    pd.testing.assert_frame_equal(a, b)
    for name, kind in (("x", "scale"), ("c", "category_shift"), ("flag", "out_of_range"), ("n", "missing")):
        spec = next(f for f in SCHEMA["features"] if f["name"] == name)
        pd.testing.assert_series_equal(scenarios.apply_column(frame[name], spec, kind, 1.5, 9),
                                       scenarios.apply(frame, SCHEMA, kind, name, 1.5, 9)[name])
    with pytest.raises(ValueError, match="does not apply"):
        scenarios.apply(frame, SCHEMA, "mean_shift", "c", 1.0, 0)
    with pytest.raises(ValueError, match="Unknown drift kind"):
        scenarios.apply(frame, SCHEMA, "nope", "x", 1.0, 0)
