"""Power by resampling drifted rows: the same flags as detection, the regenerated estimate, and alpha at no drift."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from modelwatch.core.drift import scenarios
from modelwatch.core.drift.detect import detect_column
from modelwatch.core.drift.power import (
    column_flags,
    detection_power,
    encode_column,
    power_interval,
    resampled_power,
)
from modelwatch.core.drift.profile import CATEGORICAL, NUMERIC, profile
from modelwatch.core.drift.stattests import Selection

N = 300
SCHEMA = {"schema_version": 1, "features": [
    {"name": "x", "type": "float"}, {"name": "plan", "type": "categorical"}, {"name": "level", "type": "int"},
    {"name": "flag", "type": "bool"}, {"name": "wide", "type": "int"}], "target": None}
KINDS = {"x": NUMERIC, "plan": CATEGORICAL, "level": NUMERIC, "flag": CATEGORICAL, "wide": NUMERIC}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=N)
    x[rng.choice(N, 12, replace=False)] = np.nan
    return pd.DataFrame({"x": x, "plan": rng.choice(["basic", "plus", "pro"], N, p=[0.5, 0.3, 0.2]),
                         "level": rng.choice([1, 2, 3, 4], N).astype("int64"), "flag": rng.random(N) < 0.3,
                         "wide": rng.integers(0, 60, N).astype("int64")})


@pytest.mark.parametrize("feature, kind, severity, tests", [
    ("x", "mean_shift", 0.15, {}), ("x", "missing", 0.3, {"x": "wasserstein"}), ("plan", "category_shift", 0.4, {}),
    ("plan", "out_of_range", 0.1, {"plan": "jensenshannon"}),
    ("level", "out_of_range", 0.02, {"level": "jensenshannon"}), ("level", "missing", 0.1, {}),
    ("flag", "category_shift", 0.5, {}), ("wide", "scale", 0.1, {"wide": "psi"}),
    ("wide", "mean_shift", 0.05, {"wide": "chi2_contingency"})])
def test_flags_from_counts_are_detections_on_the_same_samples(frame, feature, kind, severity, tests):
    drifted = scenarios.apply(frame, SCHEMA, kind, feature, severity, seed=1)[feature]
    rng = np.random.default_rng(2)
    ref_rows, cur_rows = rng.integers(0, N, (40, N)), rng.integers(0, N, (40, N))
    selection = Selection(tests=tests)
    flags, test = column_flags(encode_column(feature, KINDS[feature], frame[feature], drifted), ref_rows, cur_rows,
                               selection)
    expected = []
    for ref, cur in zip(ref_rows, cur_rows):
        sample = frame[[feature]].iloc[ref].reset_index(drop=True)
        result = detect_column(profile(sample, KINDS).columns[feature], drifted.iloc[cur].reset_index(drop=True),
                               selection, kind=KINDS[feature])
        expected.append(result["drift_detected"])
        assert result["test"] == test
    assert flags.tolist() == expected
    assert 0 < sum(expected) < len(expected)  # both verdicts occur: the comparison can fail


@pytest.mark.parametrize("feature, kind, severity", [
    ("x", "mean_shift", 0.25), ("x", "missing", 0.05), ("plan", "category_shift", 0.3), ("flag", "category_shift", 0.4),
    (None, "mean_shift", 0.3)])
def test_resampled_power_agrees_with_regenerated_power(frame, feature, kind, severity):
    n = 200
    drifted = scenarios.apply(frame, SCHEMA, kind, feature, severity, seed=3)
    resampled = resampled_power(frame, drifted, KINDS, feature, n, seed=4,
                                rows_set=scenarios.rows_set(kind, severity, N))
    regenerated = detection_power(frame, SCHEMA, kind, feature, severity, n, seed=5, kinds=KINDS)
    assert resampled["n_resamples"] == regenerated["n_resamples"] == n
    assert resampled["test"] == regenerated["test"]
    a, b = resampled["power"], regenerated["power"]
    # both are shares of n independent resamples: their difference within 3.5 standard errors, plus one resample
    error = np.sqrt((a * (1 - a) + b * (1 - b)) / n)
    assert abs(a - b) <= 3.5 * error + 1 / n, (a, b)


def test_a_small_missing_share_keeps_its_size():
    # 3 missing values out of 300 against none: not significant; a plain bootstrap of the drifted rows would
    # draw 4 or more about a third of the time and call the scenario detected
    reference = pd.DataFrame({"x": np.random.default_rng(6).normal(size=N)})
    drifted = scenarios.apply(reference, SCHEMA, "missing", "x", 0.05, seed=1)
    assert drifted["x"].isna().sum() == 3
    stratified = resampled_power(reference, drifted, {"x": NUMERIC}, "x", 400, seed=2,
                                 rows_set=scenarios.rows_set("missing", 0.05, N))
    assert stratified["power"] < 0.1


def test_power_without_drift_is_the_false_positive_rate():
    n, alpha = 2000, 0.05
    reference = pd.DataFrame({"x": np.random.default_rng(7).normal(size=1000)})  # KS: <= 1000 rows
    unchanged = scenarios.apply(reference, SCHEMA, "mean_shift", "x", 0.0, seed=1)
    no_drift = resampled_power(reference, unchanged, {"x": NUMERIC}, "x", n, seed=8)
    assert no_drift == resampled_power(reference, reference, {"x": NUMERIC}, "x", n, seed=8)
    assert no_drift["test"] == "ks"
    assert abs(no_drift["power"] - alpha) <= 3 * np.sqrt(alpha * (1 - alpha) / n)
    assert no_drift["interval"] == power_interval(round(no_drift["power"] * n), n)
    assert no_drift["interval"][0] <= no_drift["power"] <= no_drift["interval"][1]
    regenerated = detection_power(reference, SCHEMA, "mean_shift", "x", 0.0, 300, seed=9)
    assert abs(no_drift["power"] - regenerated["power"]) <= 3 * np.sqrt(alpha * (1 - alpha) * (1 / n + 1 / 300))


@pytest.mark.parametrize("hits, n", [(0, 1), (1, 1), (0, 20), (7, 20), (20, 20), (3, 600)])
def test_the_power_interval_is_clopper_pearsons(hits, n):
    """Against the beta quantiles that define it (the ends are 0 and 1 at no hit and at every hit)."""
    low = 0.0 if hits == 0 else stats.beta.ppf(0.025, hits, n - hits + 1)
    high = 1.0 if hits == n else stats.beta.ppf(0.975, hits + 1, n - hits)
    assert power_interval(hits, n) == pytest.approx([low, high], abs=1e-9)


def test_no_resample_has_no_power_and_no_interval():
    assert power_interval(0, 0) is None
    reference = pd.DataFrame({"x": np.arange(10.0)})
    assert resampled_power(reference, reference, {"x": NUMERIC}, "x", 0) == {
        "power": None, "n_resamples": 0, "interval": None, "test": None}


def test_the_power_interval_covers_the_true_power_at_least_95_percent_of_the_time():
    """Exact coverage over every outcome of 20 resamples (the section's default), at powers from 1% to 99%."""
    n = 20
    hits = np.arange(n + 1)
    intervals = np.array([power_interval(int(k), n) for k in hits])
    for power in np.linspace(0.01, 0.99, 99):
        covered = (intervals[:, 0] <= power) & (power <= intervals[:, 1])
        assert stats.binom.pmf(hits, n, power)[covered].sum() >= 0.95, power
