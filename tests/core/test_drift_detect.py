"""Fast detection: the binned path gives the exact statistic, p-value and verdict; codes equal strings."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.spatial import distance

from modelwatch.core.drift.detect import detect_column, detect_frame
from modelwatch.core.drift.profile import profile
from modelwatch.core.drift.stattests import Selection


@pytest.mark.parametrize("shift", [0.0, 0.05, 0.09, 0.1, 0.11, 0.3])
def test_binned_wasserstein_is_the_exact_value(shift):
    rng = np.random.default_rng(int(shift * 100))
    ref = pd.DataFrame({"x": rng.normal(size=20000)})
    cur = pd.DataFrame({"x": rng.normal(shift, 1, size=20000)})
    prof = profile(ref)
    binned = detect_column(prof.columns["x"], cur["x"], exact=False)
    exact = detect_column(prof.columns["x"], cur["x"], exact=True)
    expected = stats.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert exact["statistic"] == pytest.approx(expected, abs=1e-9)
    assert binned["drift_detected"] == exact["drift_detected"] == (expected >= 0.1)
    assert binned["method"] == "binned" and binned["statistic"] == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("shift", [0.0, 0.02, 0.05])
def test_binned_ks_is_the_exact_test(shift):
    rng = np.random.default_rng(7)
    ref = pd.DataFrame({"x": rng.lognormal(size=30000)})
    cur = pd.DataFrame({"x": rng.lognormal(shift, 1, size=30000)})
    prof = profile(ref)
    binned = detect_column(prof.columns["x"], cur["x"], Selection(tests={"all": "ks"}), exact=False)
    exact = stats.ks_2samp(ref["x"], cur["x"])
    assert binned["drift_detected"] == (exact.pvalue <= 0.05)
    assert binned["method"] == "binned" and binned["statistic"] == pytest.approx(exact.statistic, abs=1e-12)
    assert binned["p_value"] == pytest.approx(exact.pvalue, rel=1e-9, abs=1e-300)


def test_categorical_codes_and_strings_give_the_same_result():
    rng = np.random.default_rng(3)
    cats = ["north", "south", "east", "west"]
    ref = pd.Series(rng.choice(cats, 3000, p=[0.4, 0.3, 0.2, 0.1]))
    cur = pd.Series(rng.choice(cats + ["new"], 2000, p=[0.3, 0.3, 0.2, 0.1, 0.1]))
    as_strings = detect_frame(ref.to_frame("c"), cur.to_frame("c"))["columns"][0]
    dtype = pd.CategoricalDtype(cats + ["new", "unused"])
    as_codes = detect_frame(ref.astype(dtype).to_frame("c"), cur.astype(dtype).to_frame("c"))["columns"][0]
    assert as_strings["test"] == as_codes["test"] == "jensenshannon"
    assert as_codes["statistic"] == pytest.approx(as_strings["statistic"], abs=1e-12)
    r = ref.value_counts().reindex(cats + ["new"], fill_value=0).to_numpy()
    c = cur.value_counts().reindex(cats + ["new"], fill_value=0).to_numpy()
    assert as_codes["statistic"] == pytest.approx(distance.jensenshannon(r / r.sum(), c / c.sum()), abs=1e-12)


def test_nan_and_infinities_are_dropped_before_testing():
    rng = np.random.default_rng(4)
    ref = pd.Series(np.r_[rng.normal(size=500), [np.nan] * 20, [np.inf]])
    cur = pd.Series(np.r_[rng.normal(size=400), [np.nan] * 50])
    result = detect_frame(ref.to_frame("x"), cur.to_frame("x"))["columns"][0]
    assert (result["n_reference"], result["n_current"]) == (500, 400)
    assert result["missing_share_reference"] == pytest.approx(21 / 521)
    assert result["missing_share_current"] == pytest.approx(50 / 450)
    assert result["p_value"] == pytest.approx(stats.ks_2samp(ref.iloc[:500], cur.iloc[:400]).pvalue, abs=1e-9)


def test_numeric_psi_uses_sturges_bins_over_both_samples():
    rng = np.random.default_rng(5)
    ref, cur = rng.normal(size=1500), rng.normal(0.2, 1, size=1200)
    result = detect_column(profile(pd.DataFrame({"x": ref})).columns["x"], pd.Series(cur),
                           Selection(tests={"all": "psi"}))
    edges = np.histogram_bin_edges(np.r_[ref, cur], bins="sturges")
    r = np.histogram(ref, edges)[0] / ref.size
    c = np.histogram(cur, edges)[0] / cur.size
    assert result["statistic"] == pytest.approx(np.sum((r - c) * np.log(r / c)), abs=1e-9)


def test_empty_current_column_is_reported_not_raised():
    result = detect_frame(pd.DataFrame({"x": [1.0, 2, 3]}), pd.DataFrame({"x": [np.nan, np.nan]}))
    assert result["columns"][0]["test"] is None
    assert result["columns"][0]["distribution_drift_detected"] is False


@pytest.mark.parametrize("current", [[np.nan] * 300, [np.nan] * 60 + list(range(240))])
def test_a_column_going_missing_is_drift(current):
    """The distribution tests drop NaN; the missing-share test beside them sees the column empty out."""
    reference = pd.DataFrame({"x": np.arange(300.0), "c": ["a", "b", "c"] * 100})
    cur = pd.DataFrame({"x": current, "c": [None if np.isnan(v) else "a" if i % 3 else "b"
                                            for i, v in enumerate(current)]})
    for column in detect_frame(reference, cur)["columns"]:
        missing = column["missing_test"]
        z, p = missing["statistic"], missing["p_value"]
        share = column["missing_share_current"]
        pooled = share * 300 / 600
        assert z == pytest.approx(share / np.sqrt(pooled * (1 - pooled) * (2 / 300)))
        assert p == pytest.approx(2 * stats.norm.sf(abs(z))) and p < 1e-6
        assert column["drift_detected"] is True
