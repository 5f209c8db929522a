"""A Gaussian copula over a schema's features: fitted on real rows (numeric and categorical), drawn in chunks.

Fitting turns every column into normal scores: each distinct value (numbers in order, categories in schema
order) is scored by the mean of the standard normal over its slice of the cumulative distribution, so
numeric and categorical columns mix in one correlation matrix, corrected for the coarseness of each column.
Drawing produces correlated normals and maps each one through the feature's own marginal
(``marginals.from_normal``): the schema decides the marginals, the copula only the dependence between them.
Association that is not monotone in the category order is not captured; that is the price of one matrix.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from modelwatch.core.data.marginals import categories_of, from_normal

CHUNK_ROWS = 131_072  # bounds the temporary normal block (chunk x features) whatever n is
_TRUE_TEXT = {"true", "t", "yes", "y"}
_FALSE_TEXT = {"false", "f", "no", "n"}


def _value_key(value: Any, is_bool: bool) -> Any:
    """What identifies a category: numbers by value (``4``, ``4.0`` and ``"4"`` are one), other values by text.

    A sample parsed by ``read_csv`` holds int columns as float64 while the schema lists ``4``: matching on
    ``str`` would never see ``"4.0" == "4"`` and drop the whole column from the copula.
    """
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return float(value)
    text = str(value).strip()
    if is_bool and text.lower() in _TRUE_TEXT | _FALSE_TEXT:
        return 1.0 if text.lower() in _TRUE_TEXT else 0.0
    try:
        number = float(text)
    except ValueError:
        return text
    return number if np.isfinite(number) else text


def _codes(feature: dict[str, Any], column: pd.Series) -> pd.Series:
    """Category index of each value (NaN when missing or not in the schema); bools also match their text forms."""
    is_bool = feature.get("type") == "bool"
    lookup: dict[Any, int] = {}
    for i, category in enumerate(categories_of(feature)):
        lookup.setdefault(_value_key(category, is_bool), i)
    present = column.dropna().unique()
    codes = {value: lookup[key] for value in present if (key := _value_key(value, is_bool)) in lookup}
    return column.map(codes).astype(float)


def _is_categorical(feature: dict[str, Any]) -> bool:
    kind = (feature.get("distribution") or {}).get("kind")
    return feature.get("type") in ("categorical", "bool") or kind == "categorical"


def normal_scores(feature: dict[str, Any], column: pd.Series) -> tuple[np.ndarray, float] | None:
    """Normal scores of one column (NaN where missing) and their variance, or None under two distinct values.

    Each distinct value (numbers in order, categories in schema order) owns a slice of the standard normal
    whose mass is its frequency; its score is the normal's mean over that slice. For a continuous column
    this is the usual rank-based normal score; for a coarse one the scores' variance ``kappa`` (< 1) says
    how much correlation the coarsening hides, and the fit divides it back out.
    """
    if _is_categorical(feature):
        keys = _codes(feature, column).to_numpy(dtype=float)
    else:
        keys = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
    valid = ~np.isnan(keys)
    levels, inverse, counts = np.unique(keys[valid], return_inverse=True, return_counts=True)
    if len(levels) < 2:
        return None
    p = counts / counts.sum()
    tau = special.ndtri(np.clip(np.cumsum(p)[:-1], 1e-12, 1 - 1e-12))
    pdf = np.concatenate([[0.0], np.exp(-0.5 * tau**2) / np.sqrt(2 * np.pi), [0.0]])
    means = (pdf[:-1] - pdf[1:]) / p
    kappa = float(np.sum(p * means**2))
    scores = np.full(len(keys), np.nan)
    scores[valid] = means[inverse]
    return scores, kappa


def nearest_correlation(matrix: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """Clip negative eigenvalues (pairwise estimates need not be positive definite) and restore a unit diagonal."""
    matrix = np.nan_to_num((matrix + matrix.T) / 2.0, nan=0.0)
    np.fill_diagonal(matrix, 1.0)
    values, vectors = np.linalg.eigh(matrix)
    fixed = (vectors * np.clip(values, floor, None)) @ vectors.T
    d = np.sqrt(np.diag(fixed))
    fixed = fixed / np.outer(d, d)
    np.fill_diagonal(fixed, 1.0)
    return fixed


def fit_copula(schema: dict[str, Any], sample: pd.DataFrame) -> dict[str, Any] | None:
    """Fit the copula's correlation on ``sample``; features absent from it, or constant in it, stay independent.

    Args:
        schema: the Schema whose features (and category order) the copula serves.
        sample: real rows; columns are matched to features by name.

    Returns:
        ``{"features": [names], "correlation": [[...]]}`` (the schema's optional ``copula`` block), or None
        when fewer than two features can be fitted.
    """
    names, scores, kappas = [], {}, []
    for feature in schema["features"]:
        name = feature["name"]
        if name not in sample.columns:
            continue
        fitted = normal_scores(feature, sample[name])
        if fitted is not None:
            names.append(name)
            scores[name] = fitted[0]
            kappas.append(fitted[1])
    if len(names) < 2:
        return None
    # pairwise-complete correlations: a missing value in one column does not discard the row for the others
    corr = pd.DataFrame(scores).corr(method="pearson", min_periods=3).to_numpy()
    # undo the attenuation of coarse columns (first Hermite term: corr(scores) ~ rho * sqrt(kappa_i * kappa_j))
    corr = np.clip(corr / np.sqrt(np.outer(kappas, kappas)), -0.999, 0.999)
    corr = nearest_correlation(corr)
    return {"features": names, "correlation": np.round(corr, 6).tolist()}


def draw_copula(schema: dict[str, Any], copula: dict[str, Any], n: int, seed: int) -> dict[str, np.ndarray]:
    """Raw draws (category codes or float values) for the copula's features, correlated as the copula says."""
    by_name = {f["name"]: f for f in schema["features"]}
    names = [name for name in copula["features"] if name in by_name]
    if not names:
        return {}
    index = [copula["features"].index(name) for name in names]
    corr = nearest_correlation(np.asarray(copula["correlation"], dtype=float)[np.ix_(index, index)])
    lower = np.linalg.cholesky(corr)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0xC0FA])
    out: dict[str, np.ndarray] = {}
    for start in range(0, n, CHUNK_ROWS):
        stop = min(n, start + CHUNK_ROWS)
        z = rng.standard_normal((stop - start, len(names))) @ lower.T
        for j, name in enumerate(names):
            values = from_normal(by_name[name], np.ascontiguousarray(z[:, j]))
            if name not in out:
                out[name] = np.empty(n, dtype=values.dtype)
            out[name][start:stop] = values
    if n == 0:
        out = {name: from_normal(by_name[name], np.empty(0)) for name in names}
    return out
