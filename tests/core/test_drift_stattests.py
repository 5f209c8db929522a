"""Drift statistics against scipy and hand-computed values; Evidently's default test selection, branch by branch."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from modelwatch.core.drift import stattests
from modelwatch.core.drift.detect import detect_column, detect_frame
from modelwatch.core.drift.profile import profile
from modelwatch.core.drift.stattests import Selection


@pytest.mark.parametrize("n1,n2,decimals", [(50, 70, None), (1000, 1000, None), (800, 1000, 1), (12000, 9000, None),
                                            (15000, 15000, 1)])
def test_ks_equals_scipy(n1, n2, decimals):
    rng = np.random.default_rng(n1 + n2)
    a, b = rng.normal(size=n1), rng.normal(0.05, 1.1, size=n2)
    if decimals is not None:  # ties
        a, b = a.round(decimals), b.round(decimals)
    d, p = stattests.ks_test(np.sort(a), np.sort(b))
    ref = stats.ks_2samp(a, b)
    assert d == pytest.approx(ref.statistic, abs=1e-12)
    assert p == pytest.approx(ref.pvalue, abs=1e-9)


@pytest.mark.parametrize("n1,n2", [(300, 300), (1000, 700), (5000, 20000)])
def test_wasserstein_equals_scipy_normalised_by_reference_std(n1, n2):
    rng = np.random.default_rng(n1)
    a, b = rng.lognormal(size=n1), np.round(rng.lognormal(0.1, 1, size=n2), 2)
    w, p = stattests.wasserstein_test(np.sort(a), np.sort(b))
    assert p is None
    assert w == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a), abs=1e-9)


def test_chisquare_tests_equal_scipy():
    ref, cur = np.array([120, 80, 50, 10]), np.array([90, 95, 40, 25])
    stat, p = stattests.chisquare_test(ref, cur)
    expected = stats.chisquare(cur, ref * cur.sum() / ref.sum())
    assert (stat, p) == pytest.approx((expected.statistic, expected.pvalue), abs=1e-9)
    stat, p = stattests.chi2_contingency_test(ref, cur)
    table = stats.chi2_contingency(np.vstack([ref, cur]), correction=False)
    assert (stat, p) == pytest.approx((table.statistic, table.pvalue), abs=1e-9)


def test_jensenshannon_equals_scipy_and_hand_value():
    ref, cur = np.array([5.0, 3, 2]), np.array([1.0, 1, 8])
    assert stattests.jensenshannon_test(ref, cur)[0] == pytest.approx(
        distance.jensenshannon(ref / ref.sum(), cur / cur.sum()), abs=1e-12)
    # p = (1/2, 1/2), q = (1, 0): m = (3/4, 1/4); KL(p|m) = ln(4/3)/2, KL(q|m) = ln(4/3)
    assert stattests.jensenshannon_test(np.array([1.0, 1]), np.array([1.0, 0]))[0] == pytest.approx(
        np.sqrt(0.75 * np.log(4 / 3)), abs=1e-12)


def test_psi_hand_values_with_and_without_empty_bins():
    value = stattests.psi_test(np.array([50.0, 30, 20]), np.array([30.0, 30, 40]))[0]
    assert value == pytest.approx(0.2 * np.log(5 / 3) + 0.2 * np.log(2), abs=1e-12)
    # an empty reference bin is filled with 0.0001 (Evidently's feel_zeroes), then the usual sum
    value = stattests.psi_test(np.array([100.0, 0]), np.array([50.0, 50]))[0]
    assert value == pytest.approx(0.5 * np.log(2) + (0.0001 - 0.5) * np.log(0.0001 / 0.5), abs=1e-12)


def test_ztest_hand_value():
    z, p = stattests.ztest(np.array([70, 30]), np.array([50, 50]))
    expected_z = (0.3 - 0.5) / np.sqrt(0.4 * 0.6 * (1 / 100 + 1 / 100))
    assert z == pytest.approx(expected_z, abs=1e-12)
    assert p == pytest.approx(2 * stats.norm.sf(abs(expected_z)), abs=1e-12)
    assert stattests.ztest(np.array([10, 0]), np.array([7, 0])) == (0.0, 1.0)


def _selected(ref: pd.Series, cur: pd.Series, selection: Selection | None = None) -> dict:
    prof = profile(ref.to_frame("x"))
    return detect_column(prof.columns["x"], cur, selection, kind=prof.kinds["x"])


@pytest.mark.parametrize("n,values,categorical,expected", [
    (1000, None, False, "ks"),
    (1000, [1.0, 2.0, 3.0, 4.0], False, "chisquare"),
    (1000, [0.0, 1.0], False, "z"),
    (1000, ["a", "b", "c"], True, "chisquare"),
    (1000, ["a", "b"], True, "z"),
    (1001, None, False, "wasserstein"),
    (1001, [1.0, 2.0, 3.0, 4.0, 5.0], False, "jensenshannon"),
    (1001, ["a", "b", "c"], True, "jensenshannon"),
    (1001, ["a", "b"], True, "jensenshannon"),
])
def test_default_selection_follows_the_documented_rules(n, values, categorical, expected):
    rng = np.random.default_rng(n)
    draw = (lambda: rng.normal(size=n)) if values is None else (lambda: rng.choice(values, n))
    ref, cur = pd.Series(draw()), pd.Series(draw())
    result = _selected(ref, cur)
    assert result["test"] == expected
    assert f"{n} rows" in result["reason"]


def test_distinct_values_are_counted_over_reference_and_current():
    # 5 values in the reference, a 6th in the current: more than 5 together, so KS (as Evidently counts them)
    ref = pd.Series(np.tile([1.0, 2, 3, 4, 5], 100))
    cur = pd.Series(np.tile([1.0, 2, 3, 4, 6], 100))
    assert _selected(ref, cur)["test"] == "ks"


def test_overrides_per_type_and_per_column_with_threshold():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300), "c": rng.choice(["x", "y"], 300)})
    tests = {"numeric": "psi", "b": "wasserstein", "categorical": "chi2_contingency"}
    selection = Selection.from_config({"tests": tests, "test_thresholds": {"b": 0.5}})
    result = {c["feature"]: c for c in detect_frame(profile(frame), frame, selection)["columns"]}
    assert result["a"]["test"] == "psi" and "numeric columns" in result["a"]["reason"]
    assert result["b"]["test"] == "wasserstein" and result["b"]["threshold"] == 0.5
    assert "column 'b'" in result["b"]["reason"]
    assert result["c"]["test"] == "chi2_contingency"
    with pytest.raises(ValueError, match="Unknown drift test"):
        Selection.from_config({"tests": {"all": "nope"}})


def test_dataset_drift_at_half_the_columns():
    rng = np.random.default_rng(2)
    ref = pd.DataFrame({c: rng.normal(size=500) for c in "abcd"})
    cur = ref.copy()
    cur["a"] += 1
    one = detect_frame(ref, cur)
    assert (one["n_drifted"], one["dataset_drift"]) == (1, False)
    cur["b"] += 1
    two = detect_frame(ref, cur)
    assert (two["share_drifted"], two["dataset_drift"]) == (0.5, True)
