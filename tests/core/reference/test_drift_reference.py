"""Every drift statistic against scipy on awkward inputs, and the fast (binned) path against the exact one.

The references follow Evidently's rules written with scipy: NaN dropped; categories aligned on the sorted union
of keys; chi-square against the reference shares scaled to the current size; the Z-test on the share of rows that
are not the smallest key; Jensen-Shannon on the two share vectors; PSI with empty bins filled; normalised
Wasserstein over ``max(std_ref, 0.001)``; KS as ``ks_2samp``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from modelwatch.core.drift.detect import detect_column
from modelwatch.core.drift.profile import profile
from modelwatch.core.drift.stattests import Selection, fill_zeroes

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _aligned(ref: pd.Series, cur: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    r, c = ref.dropna().value_counts(), cur.dropna().value_counts()
    keys = sorted(set(r.index) | set(c.index))
    return r.reindex(keys, fill_value=0).to_numpy(float), c.reindex(keys, fill_value=0).to_numpy(float)


def _reference(test: str, ref: pd.Series, cur: pd.Series) -> tuple[float, float | None]:
    """The statistic and p-value of ``test`` computed with scipy (see the module docstring)."""
    if test in ("ks", "wasserstein"):
        r, c = ref.dropna().to_numpy(float), cur.dropna().to_numpy(float)
        if test == "ks":
            res = stats.ks_2samp(r, c)
            return float(res.statistic), float(res.pvalue)
        return stats.wasserstein_distance(r, c) / max(float(np.std(r)), 0.001), None
    rc, cc = _aligned(ref, cur)
    if test == "chisquare":
        with np.errstate(divide="ignore", invalid="ignore"):
            res = stats.chisquare(cc, rc * cc.sum() / rc.sum())
        return float(res.statistic), float(res.pvalue)
    if test == "jensenshannon":
        return float(distance.jensenshannon(rc / rc.sum(), cc / cc.sum())), None
    if test == "psi":
        r, c = fill_zeroes(rc / rc.sum()), fill_zeroes(cc / cc.sum())
        return float(np.sum((r - c) * np.log(r / c))), None
    # z: two proportions of "not the smallest key", pooled variance
    if len(rc) < 2 or (np.count_nonzero(rc) == 1 and np.count_nonzero(cc) == 1 and rc.argmax() == cc.argmax()):
        return 0.0, 1.0
    n1, n2 = rc.sum(), cc.sum()
    p1, p2 = 1 - rc[0] / n1, 1 - cc[0] / n2
    p = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2)) if 0 < p < 1 else float("nan")
    return z, float(2 * stats.norm.sf(abs(z)))


def _same(ours: float | None, theirs: float | None) -> bool:
    if ours is None or theirs is None:
        return ours is None and theirs is None
    if math.isnan(theirs) or math.isinf(theirs):
        return math.isnan(ours) and math.isnan(theirs) or ours == theirs
    return ours == pytest.approx(theirs, rel=1e-9, abs=1e-12)


def _check(test: str, ref: pd.Series, cur: pd.Series) -> None:
    prof = profile(ref.to_frame("x"))
    result = detect_column(prof.columns["x"], cur, Selection(tests={"all": test}))
    if ref.dropna().empty or cur.dropna().empty:
        assert result["test"] is None and result["distribution_drift_detected"] is False
        return
    statistic, p_value = _reference(test, ref, cur)
    assert result["test"] == test
    assert _same(result["statistic"], statistic), (result["statistic"], statistic)
    assert _same(result["p_value"], p_value), (result["p_value"], p_value)
    # the missing-share test beside it: two proportions of NaN, pooled variance
    m1, m2 = int(ref.isna().sum()), int(cur.isna().sum())
    z, p = result["missing_test"]["statistic"], result["missing_test"]["p_value"]
    pooled = (m1 + m2) / (len(ref) + len(cur))
    if 0 < pooled < 1:
        expected = (m2 / len(cur) - m1 / len(ref)) / math.sqrt(pooled * (1 - pooled) * (1 / len(ref) + 1 / len(cur)))
        assert z == pytest.approx(expected, abs=1e-12) and p == pytest.approx(2 * stats.norm.sf(abs(expected)))
    else:
        assert (z, p) == (0.0, 1.0)


def _with_nan(values: st.SearchStrategy, min_size: int = 2, max_size: int = 40) -> st.SearchStrategy:
    return st.lists(st.one_of(values, st.just(float("nan"))), min_size=min_size, max_size=max_size)


tied_floats = st.sampled_from([-3.5, -1.0, 0.0, 0.25, 0.25 + 1e-9, 2.0, 7.0, 1e6])
any_floats = st.floats(-1e3, 1e3, allow_nan=False)


@FAST
@given(ref=_with_nan(st.one_of(tied_floats, any_floats)), cur=_with_nan(st.one_of(tied_floats, any_floats)),
       test=st.sampled_from(["ks", "wasserstein"]))
def test_numeric_statistics_match_scipy(ref, cur, test):
    _check(test, pd.Series(ref, dtype=float), pd.Series(cur, dtype=float))


@FAST
@given(ref=st.lists(st.integers(0, 6), min_size=2, max_size=40), cur=st.lists(st.integers(0, 9), min_size=2,
                                                                               max_size=40),
       test=st.sampled_from(["ks", "wasserstein", "chisquare", "z", "jensenshannon", "psi"]))
def test_integer_columns_match_scipy(ref, cur, test):
    _check(test, pd.Series(ref, dtype="int64"), pd.Series(cur, dtype="int64"))


@FAST
@given(ref=st.lists(st.one_of(st.sampled_from("abcd"), st.none()), min_size=2, max_size=40),
       cur=st.lists(st.one_of(st.sampled_from("abcde"), st.none()), min_size=2, max_size=40),
       test=st.sampled_from(["chisquare", "z", "jensenshannon", "psi"]))
def test_categories_with_unseen_values_match_scipy(ref, cur, test):
    _check(test, pd.Series(ref, dtype=object), pd.Series(cur, dtype=object))


@FAST
@given(ref=st.lists(st.booleans(), min_size=2, max_size=30), cur=st.lists(st.booleans(), min_size=2, max_size=30),
       test=st.sampled_from(["chisquare", "z", "jensenshannon", "psi"]))
def test_booleans_match_scipy(ref, cur, test):
    _check(test, pd.Series(ref, dtype=bool), pd.Series(cur, dtype=bool))


@pytest.mark.parametrize("test", ["ks", "wasserstein"])
def test_constant_and_tiny_columns(test):
    for ref, cur in [([1.0, 1.0], [1.0, 2.0]), ([5.0] * 4, [5.0] * 3), ([0.0, 1.0], [np.nan, 3.0]),
                     ([2.0, np.nan, 2.0], [np.nan, np.nan])]:
        _check(test, pd.Series(ref), pd.Series(cur))


def _columns(n: int, rng: np.random.Generator) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {
        "normal": (rng.normal(size=n), rng.normal(0.02, 1, size=n // 2)),
        "lognormal_shifted": (rng.lognormal(0, 0.6, n), rng.lognormal(0.1, 0.6, n)),
        "three_far_outliers": (np.r_[rng.normal(size=n - 3), [1e6, -1e6, 5e5]], rng.normal(size=n)),
        "t_1_5": (rng.standard_t(1.5, n), rng.standard_t(1.5, n // 3)),
        "rounded_ties": (np.round(rng.normal(size=n), 1), np.round(rng.normal(0.05, 1, size=n), 1)),
        "integers": (rng.poisson(3, n).astype(float), rng.poisson(3.1, n).astype(float)),
        "current_outside": (rng.uniform(0, 1, n), rng.uniform(0.5, 2, n)),
        "with_nan": (np.where(rng.random(n) < 0.1, np.nan, rng.normal(size=n)), rng.normal(size=n)),
    }


@pytest.mark.slow
@pytest.mark.parametrize("test", ["ks", "wasserstein"])
def test_fast_path_is_the_exact_path_at_60k_rows(test):
    selection = Selection(tests={"all": test})
    for name, (ref, cur) in _columns(60_000, np.random.default_rng(1)).items():
        column = profile(pd.DataFrame({"x": ref})).columns["x"]
        fast = detect_column(column, pd.Series(cur), selection)
        exact = detect_column(column, pd.Series(cur), selection, exact=True)
        assert fast["method"] == "binned", name
        assert fast["statistic"] == pytest.approx(exact["statistic"], rel=1e-9, abs=1e-15), name
        assert _same(fast["p_value"], exact["p_value"]), name
        assert fast["drift_detected"] == exact["drift_detected"], name


@pytest.mark.slow
def test_fast_path_is_exact_at_a_million_rows():
    rng = np.random.default_rng(2)
    ref, cur = rng.normal(size=1_000_000), rng.normal(0.001, 1, size=1_000_000)
    fast = detect_column(profile(pd.DataFrame({"x": ref})).columns["x"], pd.Series(cur))
    assert fast["test"] == "wasserstein" and fast["method"] == "binned"
    expected = stats.wasserstein_distance(ref, cur) / np.std(ref)
    assert fast["statistic"] == pytest.approx(expected, rel=1e-9)
