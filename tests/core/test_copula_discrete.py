"""The copula keeps integer columns with few values (parsed as float64 by read_csv, listed as ints by the schema)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from modelwatch.core.data.copula import fit_copula
from modelwatch.core.data.synthetic import generate
from modelwatch.core.schema.document import validate_schema
from modelwatch.core.schema.from_csv import infer_csv


def rated_sample(n: int, levels: int, rho: float, seed: int) -> pd.DataFrame:
    """A float ``x`` and an int ``rating`` in 1..levels, Spearman-correlated through a shared normal."""
    rng = np.random.default_rng(seed)
    z = rng.multivariate_normal([0.0, 0.0], [[1.0, rho], [rho, 1.0]], n)
    rating = 1 + np.searchsorted(stats.norm.ppf(np.linspace(0, 1, levels + 1)[1:-1]), z[:, 1])
    return pd.DataFrame({"x": 50 + 10 * z[:, 0], "rating": rating.astype(int)})


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levels=st.integers(2, 20), rho=st.sampled_from([-0.8, 0.5, 0.9]), seed=st.integers(0, 1000))
def test_an_int_column_with_few_values_keeps_its_spearman(levels, rho, seed):
    sample = rated_sample(1500, levels, rho, seed)
    schema = validate_schema(infer_csv(sample.to_csv(index=False).encode())[0])
    rating = schema["features"][1]
    assert rating["type"] == "int" and rating["distribution"]["kind"] == "categorical"
    assert schema["copula"]["features"] == ["x", "rating"]
    generated = generate(schema, 20_000, seed=seed, generator="copula")
    expected = stats.spearmanr(sample["x"], sample["rating"]).statistic
    got = stats.spearmanr(generated["x"], generated["rating"]).statistic
    assert abs(got - expected) < 0.06, (expected, got)


def test_the_fit_matches_ints_to_int_categories_whatever_the_column_dtype():
    sample = rated_sample(800, 5, 0.83, 0)
    schema = validate_schema(infer_csv(sample.to_csv(index=False).encode())[0])
    as_float = fit_copula(schema, sample.astype({"rating": float}))
    as_text = fit_copula(schema, sample.astype({"rating": str}))
    as_int = fit_copula(schema, sample)
    assert as_float and as_float == as_int == as_text
    assert as_int["correlation"][0][1] > 0.7
