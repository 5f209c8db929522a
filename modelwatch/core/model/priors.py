"""What a fitted model knows of its raw inputs' distribution: the schema's source when there is no sample.

A schema built from the model alone used to be N(0, 1) for every numeric feature. Most fitted models carry
better knowledge, and this module reads it (inside the sandbox, next to introspection) as plain JSON:
``{feature: {"distribution": {...}, "min"?: x, "max"?: x, "from": "<where>"}}``. Per feature the first
source found wins, in this order:

- a scaler that sees the raw column (a model's first step, or the first step of a ``ColumnTransformer``
  branch, possibly after an imputer): ``StandardScaler`` ``mean_``/``scale_`` -> normal(mean, scale);
  ``RobustScaler`` ``center_``/``scale_`` -> normal(median, IQR / 1.349); ``MinMaxScaler``
  ``data_min_``/``data_max_`` and ``MaxAbsScaler`` ``max_abs_`` -> uniform over the training range;
  ``KBinsDiscretizer`` ``bin_edges_`` -> empirical quantiles (quantile strategy) or uniform over the edges;
- a tree model fed the raw columns: LightGBM's recorded training range (``feature_infos``) -> uniform;
  HistGradientBoosting's bin thresholds (training quantiles) -> empirical; sklearn trees, forests and
  gradient boosting, and XGBoost: the split thresholds' range, widened by a tenth on each side (the data
  reach past the outermost splits) -> uniform.

Features none of these describe are left out: the schema marks them ``assumed``. Encoder categories are
read by ``introspect`` and ``schema`` already.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

IQR_PER_STD = 1.349  # the interquartile range of a normal distribution, in standard deviations
THRESHOLD_MARGIN = 0.1
IMPUTERS = ("SimpleImputer", "KNNImputer", "IterativeImputer")
Prior = dict[str, Any]


def _finite(*values: Any) -> bool:
    return all(v is not None and math.isfinite(float(v)) for v in values)


def _normal(mean: float, std: float, source: str) -> Prior | None:
    if not _finite(mean, std):
        return None
    if std <= 0:
        return {"distribution": {"kind": "constant", "value": float(mean)}, "from": source}
    return {"distribution": {"kind": "normal", "mean": float(mean), "std": float(std)}, "from": source}


def _uniform(low: float, high: float, source: str) -> Prior | None:
    if not _finite(low, high) or low > high:
        return None
    if low == high:
        return {"distribution": {"kind": "constant", "value": float(low)}, "from": source}
    return {"distribution": {"kind": "uniform", "low": float(low), "high": float(high)}, "min": float(low),
            "max": float(high), "from": source}


def _empirical(points: np.ndarray, source: str) -> Prior | None:
    points = np.sort(np.asarray(points, dtype=float)[np.isfinite(points)])
    if len(points) < 2:
        return _uniform(points[0], points[0], source) if len(points) else None
    return {"distribution": {"kind": "empirical", "quantiles": [float(v) for v in points]},
            "min": float(points[0]), "max": float(points[-1]), "from": source}


def _around_thresholds(values: list[float], source: str) -> Prior | None:
    if not values:
        return None
    low, high = min(values), max(values)
    margin = (high - low) * THRESHOLD_MARGIN or max(abs(low), 1.0) * THRESHOLD_MARGIN
    return _uniform(low - margin, high + margin, source)


def _scaler_priors(step: Any) -> list[Prior | None] | None:
    """One prior per input column of a fitted scaler or discretizer, or None when ``step`` is none of them."""
    kind = type(step).__name__
    if kind == "StandardScaler" and getattr(step, "mean_", None) is not None and step.scale_ is not None:
        var = getattr(step, "var_", None)
        std = np.sqrt(var) if var is not None else step.scale_
        return [_normal(m, s, "StandardScaler mean_/scale_") for m, s in zip(step.mean_, std)]
    if kind == "RobustScaler" and getattr(step, "center_", None) is not None and step.scale_ is not None:
        return [_normal(c, s / IQR_PER_STD, "RobustScaler center_/scale_") for c, s in zip(step.center_, step.scale_)]
    if kind == "MinMaxScaler" and hasattr(step, "data_min_"):
        return [_uniform(a, b, "MinMaxScaler data_min_/data_max_") for a, b in zip(step.data_min_, step.data_max_)]
    if kind == "MaxAbsScaler" and hasattr(step, "max_abs_"):
        return [_uniform(-m, m, "MaxAbsScaler max_abs_") for m in step.max_abs_]
    if kind == "KBinsDiscretizer" and hasattr(step, "bin_edges_"):
        if step.strategy == "quantile":
            return [_empirical(edges, "KBinsDiscretizer bin_edges_") for edges in step.bin_edges_]
        return [_uniform(edges[0], edges[-1], "KBinsDiscretizer bin_edges_") for edges in step.bin_edges_]
    return None


def _sklearn_trees(model: Any) -> list[Any]:
    estimators = getattr(model, "estimators_", None)
    if hasattr(model, "tree_"):
        return [model.tree_]
    if estimators is None:
        return []
    flat = np.asarray(estimators, dtype=object).ravel()
    return [e.tree_ for e in flat if hasattr(e, "tree_")]


def _tree_priors(model: Any, n: int) -> list[Prior | None] | None:
    """One prior per input column of a tree model, or None when ``model`` is not a tree model we can read."""
    kind = type(model).__name__
    booster = getattr(model, "booster_", None) or getattr(model, "booster", None)
    if type(booster).__module__.startswith("lightgbm"):
        infos = booster.dump_model(num_iteration=0).get("feature_infos", {})
        ranges = list(infos.values()) if len(infos) == n else []
        return [_uniform(r.get("min_value"), r.get("max_value"), "LightGBM feature_infos")
                if isinstance(r, dict) and not r.get("values") else None for r in ranges] or None
    mapper = getattr(model, "_bin_mapper", None)
    if kind.startswith("HistGradientBoosting") and mapper is not None:
        return [_empirical(t, "HistGradientBoosting bin thresholds") for t in mapper.bin_thresholds_]
    if hasattr(model, "get_booster"):
        return _xgboost_priors(model.get_booster(), n)
    trees = _sklearn_trees(model)
    if not trees:
        return None
    splits: list[list[float]] = [[] for _ in range(n)]
    for tree in trees:
        inner = tree.feature >= 0
        for feature, threshold in zip(tree.feature[inner], tree.threshold[inner]):
            if feature < n:
                splits[feature].append(float(threshold))
    return [_around_thresholds(values, f"{kind} split thresholds") for values in splits]


def _xgboost_priors(booster: Any, n: int) -> list[Prior | None]:
    frame = booster.trees_to_dataframe()
    names = booster.feature_names or [f"f{i}" for i in range(n)]
    splits = frame[frame["Feature"] != "Leaf"].groupby("Feature")["Split"].apply(list).to_dict()
    return [_around_thresholds([v for v in splits.get(name, []) if _finite(v)], "XGBoost split thresholds")
            for name in names]


def _columns(columns: Any, names: list[str]) -> list[str] | None:
    """A ColumnTransformer branch's columns as raw feature names (names, positions, a mask or a slice)."""
    if isinstance(columns, str):
        return [columns] if columns in names else None
    if isinstance(columns, slice):
        return names[columns]
    values = list(np.asarray(columns).ravel()) if columns is not None else []
    if values and all(isinstance(v, (bool, np.bool_)) for v in values):
        return [name for name, keep in zip(names, values) if keep]
    if all(isinstance(v, (int, np.integer)) for v in values):
        return [names[int(i)] for i in values]
    return [str(v) for v in values] if all(str(v) in names for v in values) else None


def model_priors(model: Any, feature_names: list[str]) -> dict[str, Prior]:
    """What the fitted ``model`` knows of each raw feature's distribution (see the module docstring).

    Args:
        model: the loaded model (a Pipeline, a ColumnTransformer-fed pipeline or a bare estimator).
        feature_names: its raw features in order (``introspect.describe``'s ``feature_names``).

    Returns:
        ``{feature: {"distribution", "min"?, "max"?, "from"}}``; plain JSON numbers only.
    """
    found: dict[str, Prior] = {}

    def record(columns: list[str], priors: list[Prior | None] | None) -> None:
        if priors is not None and len(priors) == len(columns):
            for name, prior in zip(columns, priors):
                if prior is not None:
                    found.setdefault(name, prior)

    def visit(step: Any, columns: list[str]) -> None:
        if hasattr(step, "steps"):
            for _, inner in step.steps:
                visit(inner, columns)
                if type(inner).__name__ not in IMPUTERS or getattr(inner, "add_indicator", False):
                    return  # later steps see transformed values, not the raw columns
        elif hasattr(step, "transformers_"):
            for _, transformer, cols in step.transformers_:
                selected = _columns(cols, columns)
                if selected and not isinstance(transformer, str):
                    visit(transformer, selected)
        else:
            for read in (_scaler_priors, lambda s: _tree_priors(s, len(columns))):
                record(columns, _safe(read, step))

    visit(model, list(feature_names))
    return found


def _safe(read: Callable[[Any], list[Prior | None] | None], step: Any) -> list[Prior | None] | None:
    """A reader that fails on an odd estimator gives nothing rather than failing the model's introspection."""
    try:
        return read(step)
    except Exception:  # a third-party estimator with surprising attributes: no prior, the feature is assumed
        return None
