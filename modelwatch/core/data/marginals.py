"""One feature's marginal distribution: its defaults, its own random stream, raw draws and the finished column.

Shared by both generators of ``synthetic``: the independent one draws from each marginal, the copula
(``copula``) maps correlated normal scores through it (``from_normal``).
"""
from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from modelwatch.errors import BadRequest

NUMERIC_TYPES = ("float", "int")


def default_distribution(feature: dict[str, Any]) -> dict[str, Any]:
    """The distribution used when a feature gives none: categories for categoricals and bools, else its range."""
    if feature.get("type") in ("categorical", "bool"):
        return {"kind": "categorical"}
    low, high = feature.get("min"), feature.get("max")
    if low is not None and high is not None:
        return {"kind": "uniform", "low": low, "high": high}
    return {"kind": "normal", "mean": 0.0, "std": 1.0}


def categories_of(feature: dict[str, Any]) -> list[Any]:
    """The values a categorical distribution draws from (bools default to ``[False, True]``)."""
    cats = feature.get("categories")
    if cats:
        return list(cats)
    dist = feature.get("distribution") or {}
    if dist.get("kind") == "constant":
        return [dist.get("value")]
    if feature.get("type") == "bool":
        return [False, True]
    raise BadRequest(f"Feature {feature.get('name')!r} is categorical but lists no categories.",
                     {f"features.{feature.get('name')}.categories": ["required for a categorical feature"]})


def category_cdf(feature: dict[str, Any]) -> np.ndarray:
    """Cumulative probabilities of the categories (weights normalised; equal weights when none are given)."""
    k = len(categories_of(feature))
    weights = feature.get("weights")
    w = np.asarray(weights, dtype=float) if weights and len(weights) == k else np.ones(k)
    total = w.sum()
    w = w / total if total > 0 else np.full(k, 1.0 / k)
    cdf = np.cumsum(w)
    cdf[-1] = 1.0  # float drift must not leave a sliver above the last category
    return cdf


def feature_rng(seed: int, name: str) -> np.random.Generator:
    """A random stream of its own for one feature: stable under edits to the other features."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(str(name).encode())])


def _is_categorical_draw(feature: dict[str, Any]) -> bool:
    kind = (feature.get("distribution") or default_distribution(feature)).get("kind")
    return feature.get("type") in ("categorical", "bool") or kind == "categorical"


def draw_raw(feature: dict[str, Any], n: int, rng: np.random.Generator) -> np.ndarray:
    """Independent raw draws: category codes for categorical draws, float64 values otherwise."""
    dist = feature.get("distribution") or default_distribution(feature)
    kind = dist.get("kind")
    if _is_categorical_draw(feature):
        if kind == "constant" and not feature.get("categories"):
            return np.zeros(n, dtype=np.int8)
        if kind == "constant":
            return np.full(n, categories_of(feature).index(dist.get("value")), dtype=np.int16)
        cdf = category_cdf(feature)
        return np.searchsorted(cdf, rng.random(n), side="right").astype(_code_dtype(len(cdf)), copy=False)
    if kind == "normal":
        return rng.normal(float(dist.get("mean", 0.0)), float(dist.get("std", 1.0)), n)
    if kind == "uniform":
        return rng.uniform(*_uniform_bounds(feature, dist), n)
    if kind == "lognormal":
        return rng.lognormal(float(dist.get("mean", 0.0)), float(dist.get("sigma", 1.0)), n)
    if kind == "constant":
        return np.full(n, float(dist.get("value", 0.0)))
    if kind == "empirical":
        q = np.asarray(dist["quantiles"], dtype=float)
        return np.interp(rng.random(n), np.linspace(0.0, 1.0, len(q)), q)
    raise BadRequest(f"Feature {feature.get('name')!r} has an unknown distribution kind {kind!r}.",
                     {f"features.{feature.get('name')}.distribution.kind": [f"unknown kind {kind!r}"]})


def from_normal(feature: dict[str, Any], z: np.ndarray) -> np.ndarray:
    """Map standard-normal scores through the feature's marginal (the copula's inverse-CDF step), as ``draw_raw``."""
    dist = feature.get("distribution") or default_distribution(feature)
    kind = dist.get("kind")
    if _is_categorical_draw(feature) and kind != "constant":
        cdf = category_cdf(feature)
        return np.searchsorted(cdf, special.ndtr(z), side="right").astype(_code_dtype(len(cdf)), copy=False)
    if kind == "normal":
        return float(dist.get("mean", 0.0)) + float(dist.get("std", 1.0)) * z
    if kind == "lognormal":
        return np.exp(float(dist.get("mean", 0.0)) + float(dist.get("sigma", 1.0)) * z)
    if kind == "uniform":
        low, high = _uniform_bounds(feature, dist)
        return low + (high - low) * special.ndtr(z)
    if kind == "empirical":
        q = np.asarray(dist["quantiles"], dtype=float)
        return np.interp(special.ndtr(z), np.linspace(0.0, 1.0, len(q)), q)
    return draw_raw(feature, len(z), np.random.default_rng(0))  # constant: no randomness to correlate


def _uniform_bounds(feature: dict[str, Any], dist: dict[str, Any]) -> tuple[float, float]:
    low = dist.get("low", feature.get("min"))
    high = dist.get("high", feature.get("max"))
    low, high = float(0.0 if low is None else low), float(1.0 if high is None else high)
    if feature.get("type") == "int":  # half a unit past each end: rounding then gives every integer the same mass
        return float(np.ceil(low)) - 0.5, float(np.floor(high)) + 0.5
    return low, high


def _code_dtype(k: int) -> type:
    return np.int8 if k < 127 else np.int16 if k < 32_000 else np.int32


def finish(feature: dict[str, Any], raw: np.ndarray, rng: np.random.Generator,
           categorical_dtype: str = "category") -> Any:
    """Turn raw draws into the feature's column: clip to the range, round ints, map codes, punch missing values."""
    n = len(raw)
    ftype = feature.get("type", "float")
    rate = float(feature.get("missing_rate") or 0.0) if feature.get("nullable") else 0.0
    mask = rng.random(n) < rate if rate > 0 else None
    if _is_categorical_draw(feature):
        cats = categories_of(feature)
        if ftype == "categorical":
            codes = raw if mask is None else np.where(mask, -1, raw).astype(raw.dtype, copy=False)
            column = pd.Categorical.from_codes(codes, categories=pd.Index(cats, dtype=object))
            return column if categorical_dtype == "category" else np.asarray(column.astype(object))
        values = np.asarray(cats)[raw]
        if ftype == "bool":
            values = values.astype(bool)
            return values if mask is None else pd.arrays.BooleanArray(values, mask)
        raw = values.astype(float)
    elif ftype == "bool":  # a bool with a numeric distribution: true above 0.5
        values = raw > 0.5
        return values if mask is None else pd.arrays.BooleanArray(values, mask)
    low, high = feature.get("min"), feature.get("max")
    if ftype == "int":
        raw = np.rint(raw, out=raw if raw.dtype == np.float64 else None)
        low = None if low is None else np.ceil(low)
        high = None if high is None else np.floor(high)
    if low is not None or high is not None:
        np.clip(raw, low, high, out=raw)
    if mask is not None:
        raw[mask] = np.nan
        return raw
    return raw.astype(np.int64) if ftype == "int" else raw
