"""An integer feature with a uniform distribution is a discrete uniform: its end values get full weight."""
from __future__ import annotations

import numpy as np
from scipy import stats

from modelwatch.core.data.synthetic import generate


def test_integer_uniform_is_discrete_uniform():
    schema = {"schema_version": 1, "target": None, "features": [
        {"name": "i", "type": "int", "min": 1, "max": 10, "distribution": {"kind": "uniform"}}]}
    values = np.asarray(generate(schema, 20_000, seed=0)["i"])
    counts = np.bincount(values.astype(int), minlength=11)[1:]
    assert counts.sum() == 20_000 and counts.min() > 0
    # plain rounding of U(1, 10) gave 1 and 10 half the share of the inside values (0.052 against 0.111)
    assert stats.chisquare(counts).pvalue > 0.001
    assert counts[[0, -1]].mean() / counts[1:-1].mean() > 0.9
