"""F1 macro's bootstrap replicates use the point estimate's definition: a class absent from a resample is left out."""
from __future__ import annotations

import numpy as np
import sklearn.metrics as skm
from hypothesis import given, settings
from hypothesis import strategies as st

from modelwatch.core.checks.bootstrap import LEVEL, bootstrap_classification, classification_stats, count_blocks


@settings(max_examples=40, deadline=None)
@given(data=st.data(), k=st.integers(2, 5), n=st.integers(2, 40))
def test_each_replicate_equals_sklearn_on_the_resampled_rows(data, k, n):
    y = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    pred = np.array(data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    if counts.sum() == 0:
        counts[0] = 1
    rows = np.repeat(np.arange(n), counts.astype(int))
    got = classification_stats(counts[None, :], y, pred, None, list(range(k)), with_auc=False)["f1_macro"][0]
    assert got == skm.f1_score(y[rows], pred[rows], average="macro", zero_division=0)


def rare_class_sample(rng: np.random.Generator, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Three classes, one at 4%; a classifier right 97% of the time (the review's failing case)."""
    y = rng.choice(3, n, p=[0.56, 0.40, 0.04])
    return y, np.where(rng.random(n) < 0.97, y, rng.choice(3, n))


def test_the_interval_is_the_plug_in_bootstrap_of_sklearns_f1_with_a_rare_class():
    """Simulation at n = 60 with a 4% class: every interval equals sklearn's f1_score on the same resamples."""
    rng = np.random.default_rng(12)
    n_boot, tail = 100, (1 - LEVEL) / 2 * 100
    gaps = []
    for seed in range(12):
        y, pred = rare_class_sample(rng)
        result = bootstrap_classification(y, pred, None, [0, 1, 2], n_boot, seed, with_auc=False)
        got = result["ci"]["f1_macro"]
        assert result["sparse_classes"] == ([2] if 0 < (y == 2).sum() < 10 else [])  # flagged: undercovers
        replicates = [skm.f1_score(y[rows], pred[rows], average="macro", zero_division=0)
                      for W in count_blocks(len(y), n_boot, seed) for rows in (np.repeat(np.arange(len(y)),
                                                                                        w.astype(int)) for w in W)]
        expected = np.percentile(replicates, [tail, 100 - tail])
        gaps.append(np.abs(np.asarray(got) - expected).max())
    assert max(gaps) < 1e-12, max(gaps)
