"""Synthetic generation: the frame respects its schema (property-based), seeds reproduce, the copula keeps ranks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from modelwatch.core.data.copula import fit_copula, nearest_correlation
from modelwatch.core.data.synthetic import generate
from modelwatch.core.schema.document import validate_schema
from modelwatch.errors import BadRequest

N = 2000
finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False)


@st.composite
def numeric_feature(draw, name: str) -> dict:
    ftype = draw(st.sampled_from(["float", "int"]))
    kind = draw(st.sampled_from(["normal", "uniform", "lognormal", "constant", "empirical", "categorical"]))
    a, b = sorted([draw(finite), draw(finite)])
    if ftype == "int" and np.floor(b) < np.ceil(a):
        b = a + 1
    feature = {"name": name, "type": ftype}
    if draw(st.booleans()):
        feature.update(min=a, max=b)
    if kind == "normal":
        dist = {"kind": "normal", "mean": draw(finite), "std": draw(st.floats(0.01, 1e3))}
    elif kind == "uniform":
        dist = {"kind": "uniform", "low": a, "high": b}
    elif kind == "lognormal":
        dist = {"kind": "lognormal", "mean": draw(st.floats(-3, 3)), "sigma": draw(st.floats(0.01, 2))}
    elif kind == "constant":
        dist = {"kind": "constant", "value": draw(finite)}
    elif kind == "empirical":
        dist = {"kind": "empirical", "quantiles": sorted(draw(st.lists(finite, min_size=2, max_size=12)))}
    else:
        values = draw(st.lists(st.integers(-50, 50), min_size=1, max_size=6, unique=True))
        feature["categories"] = values
        feature["weights"] = draw(st.one_of(st.none(), st.lists(st.floats(0.1, 5), min_size=len(values),
                                                                 max_size=len(values))))
        dist = {"kind": "categorical"}
        if "min" in feature:
            feature.update(min=min(values), max=max(values))
    feature["distribution"] = dist
    return feature


@st.composite
def text_feature(draw, name: str) -> dict:
    if draw(st.booleans()):
        weights = draw(st.one_of(st.none(), st.lists(st.floats(0.1, 5), min_size=2, max_size=2)))
        return {"name": name, "type": "bool", "categories": [False, True], "weights": weights,
                "distribution": {"kind": "categorical"}}
    cats = draw(st.lists(st.text("abcxyz", min_size=1, max_size=4), min_size=1, max_size=8, unique=True))
    weights = draw(st.one_of(st.none(), st.lists(st.floats(0.1, 5), min_size=len(cats), max_size=len(cats))))
    return {"name": name, "type": "categorical", "categories": cats, "weights": weights,
            "distribution": {"kind": "categorical"}}


@st.composite
def schemas(draw) -> dict:
    features = []
    for i in range(draw(st.integers(1, 5))):
        feature = draw(st.one_of(numeric_feature(f"f{i}"), text_feature(f"f{i}")))
        if draw(st.booleans()):
            feature.update(nullable=True, missing_rate=draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])))
        features.append(feature)
    return {"schema_version": 1, "features": features, "target": None}


def assert_respects(frame: pd.DataFrame, schema: dict) -> None:
    assert list(frame.columns) == [f["name"] for f in schema["features"]]
    assert len(frame) == N
    for f in schema["features"]:
        column = frame[f["name"]]
        present = column.dropna()
        rate = f["missing_rate"] if f["nullable"] else 0.0
        assert abs(column.isna().mean() - rate) <= 0.05, f["name"]
        if f["type"] == "categorical":
            assert set(present.astype(object)) <= set(f["categories"])
        elif f["type"] == "bool":
            assert set(present.astype(bool)) <= {False, True}
        else:
            values = present.to_numpy(dtype=float)
            assert np.isfinite(values).all()
            if f["type"] == "int":
                assert (values == np.round(values)).all()
                if rate == 0:
                    assert column.dtype == np.int64
            if f["min"] is not None:
                assert values.min(initial=np.inf) >= f["min"] - 1e-9
                assert values.max(initial=-np.inf) <= f["max"] + 1e-9
            if f.get("categories") and (f.get("distribution") or {}).get("kind") == "categorical":
                assert set(values) <= {float(c) for c in f["categories"]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schemas())
def test_generated_data_respects_its_schema(doc):
    schema = validate_schema(doc)
    frame = generate(schema, N, seed=3)
    assert_respects(frame, schema)


@settings(max_examples=15, deadline=None)
@given(schemas(), st.integers(0, 2**31))
def test_same_seed_gives_the_same_frame(doc, seed):
    schema = validate_schema(doc)
    pd.testing.assert_frame_equal(generate(schema, 300, seed=seed), generate(schema, 300, seed=seed))


def test_other_seed_gives_other_data_and_editing_one_feature_keeps_the_others():
    schema = validate_schema({"features": [
        {"name": "a", "type": "float", "distribution": {"kind": "normal", "mean": 0, "std": 1}},
        {"name": "b", "type": "categorical", "categories": ["x", "y", "z"]}]})
    first = generate(schema, 100, seed=1)
    assert not first["a"].equals(generate(schema, 100, seed=2)["a"])
    schema["features"][1]["weights"] = [1, 0, 0]
    second = generate(schema, 100, seed=1)
    pd.testing.assert_series_equal(first["a"], second["a"])
    assert set(second["b"]) == {"x"}


def test_marginals_match_their_parameters():
    schema = validate_schema({"features": [
        {"name": "n", "type": "float", "distribution": {"kind": "normal", "mean": 5, "std": 2}},
        {"name": "u", "type": "float", "distribution": {"kind": "uniform", "low": -1, "high": 3}},
        {"name": "l", "type": "float", "distribution": {"kind": "lognormal", "mean": 1, "sigma": 0.5}},
        {"name": "e", "type": "float", "distribution": {"kind": "empirical", "quantiles": [0, 1, 2, 10]}},
        {"name": "c", "type": "categorical", "categories": ["a", "b"], "weights": [1, 3]}]})
    frame = generate(schema, 20_000, seed=0)
    assert stats.kstest(frame["n"], stats.norm(5, 2).cdf).pvalue > 0.001
    assert stats.kstest(frame["u"], stats.uniform(-1, 4).cdf).pvalue > 0.001
    assert stats.kstest(frame["l"], stats.lognorm(s=0.5, scale=np.exp(1)).cdf).pvalue > 0.001
    assert abs(np.median(frame["e"]) - 1.5) < 0.1
    assert abs((frame["c"] == "b").mean() - 0.75) < 0.02


def correlated_sample(n: int = 3000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    z = rng.multivariate_normal(np.zeros(4), nearest_correlation(np.array(
        [[1, 0.7, -0.4, 0.5], [0.7, 1, -0.2, 0.3], [-0.4, -0.2, 1, -0.3], [0.5, 0.3, -0.3, 1]], dtype=float)), n)
    return pd.DataFrame({
        "income": np.exp(10 + 0.5 * z[:, 0]),
        "age": np.clip(np.round(40 + 12 * z[:, 1]), 18, 90),
        "score": stats.norm.cdf(z[:, 2]) * 100,
        "tier": np.select([z[:, 3] < -0.5, z[:, 3] < 0.8], ["bronze", "silver"], "gold"),
    })


def test_copula_keeps_spearman_correlations_of_a_correlated_sample():
    from modelwatch.core.schema.from_csv import infer_csv

    sample = correlated_sample()
    schema, _ = infer_csv(sample.to_csv(index=False).encode())
    schema = validate_schema(schema)
    assert schema["copula"]["features"] == ["income", "age", "score", "tier"]
    tiers = {c: i for i, c in enumerate(schema["features"][3]["categories"])}
    generated = generate(schema, 40_000, seed=0, generator="copula", sample=None)
    expected = sample.assign(tier=sample["tier"].map(tiers)).corr(method="spearman").to_numpy()
    got = generated.assign(tier=generated["tier"].astype(object).map(tiers).astype(float))
    got = got.corr(method="spearman").to_numpy()
    assert np.abs(expected - got).max() < 0.05, (expected, got)
    independent = generate(schema, 40_000, seed=0)
    assert abs(stats.spearmanr(independent["income"], independent["age"]).statistic) < 0.05


def test_copula_fitted_on_a_sample_directly_and_seed_reproducible():
    sample = correlated_sample(1500)
    schema = validate_schema({"features": [
        {"name": "income", "type": "float", "distribution": {"kind": "lognormal", "mean": 10, "sigma": 0.5}},
        {"name": "age", "type": "int", "min": 18, "max": 90,
         "distribution": {"kind": "normal", "mean": 40, "std": 12}}]})
    a = generate(schema, 5000, seed=4, generator="copula", sample=sample)
    pd.testing.assert_frame_equal(a, generate(schema, 5000, seed=4, generator="copula", sample=sample))
    rho = stats.spearmanr(a["income"], a["age"]).statistic
    assert abs(rho - stats.spearmanr(sample["income"], sample["age"]).statistic) < 0.05
    assert a["age"].between(18, 90).all() and a["age"].dtype == np.int64


def test_copula_needs_a_sample_or_a_fitted_block():
    schema = validate_schema({"features": [{"name": "a", "type": "float"}, {"name": "b", "type": "float"}]})
    with pytest.raises(BadRequest) as err:
        generate(schema, 10, generator="copula")
    assert "generator" in err.value.details
    with pytest.raises(BadRequest):
        generate(schema, 10, generator="vine")
    assert fit_copula(schema, pd.DataFrame({"a": [1.0, 1.0, 1.0]})) is None


def test_zero_rows_and_dtypes():
    schema = validate_schema({"features": [
        {"name": "i", "type": "int", "nullable": True, "missing_rate": 0.2, "min": 0, "max": 5},
        {"name": "b", "type": "bool", "nullable": True, "missing_rate": 0.2},
        {"name": "c", "type": "categorical", "categories": ["x"]}]})
    assert len(generate(schema, 0)) == 0
    frame = generate(schema, 500, seed=1)
    assert frame["i"].dtype == np.float64 and frame["i"].isna().any()
    assert str(frame["b"].dtype) == "boolean" and frame["b"].isna().any()
    assert isinstance(frame["c"].dtype, pd.CategoricalDtype)
    plain = generate(schema, 5, categorical_dtype="object")["c"]
    assert not isinstance(plain.dtype, pd.CategoricalDtype) and plain.tolist() == ["x"] * 5
