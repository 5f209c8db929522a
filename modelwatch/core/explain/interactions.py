"""SHAP interaction values of tree models, when the budget allows: which pairs of raw features act together.

Only the rows of the matrix that the Result shows are computed where our tree kernel runs the model
(``treeshap.Kernel.interaction_rows``: the same path-dependent algorithm as shap's C extension, conditioned on the
shown features alone, on threads that release the GIL): a dozen of a model's features cost a fraction of its full
matrix. Elsewhere (XGBoost computes them natively; shap's C extension otherwise) the full matrices are computed
and those rows taken. A few rows are timed first and the rest is sized to the time left; encoded columns are
summed back to raw columns on both axes.
"""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import model_input, take
from modelwatch.core.explain.plan import Plan
from modelwatch.core.explain.tree import workers
from modelwatch.core.explain.treeshap import Kernel

MAX_ROWS = 100
PROBE_ROWS = 5
MAX_FEATURES = 12  # features kept in the matrix (the most important ones)


def _chosen(values: np.ndarray, index: np.ndarray) -> np.ndarray:
    """Each row's explained output of ``values`` shaped ``(outputs, n, ...)`` (one output: that one)."""
    k = np.clip(index, 0, values.shape[0] - 1) if values.shape[0] > 1 else np.zeros(len(index), dtype=int)
    return values[k, np.arange(len(index))]


def _shap_rows(explainer: Any, X: Any, index: np.ndarray, held: list[int]) -> np.ndarray:
    """Rows ``held`` of each row's interaction matrix ``(n, len(held), m)``, from shap's full matrices."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.asarray(explainer.shap_interaction_values(X), dtype=float)
    if values.ndim == 4 and values.shape[0] == len(index) and values.shape[-1] != values.shape[1]:
        values = np.moveaxis(values, -1, 0)  # (n, m, m, K) -> (K, n, m, m)
    if values.ndim == 4:
        values = _chosen(values, index)
    return values[:, held, :]


def _kernel_rows(kernel: Kernel, X: Any, index: np.ndarray, held: list[int]) -> np.ndarray:
    """Rows ``held`` of each row's interaction matrix ``(n, len(held), m)``, conditioned on those features only."""
    return _chosen(np.moveaxis(kernel.interaction_rows(X, held), -1, 0), index)


def interactions(plan: Plan, info: dict[str, Any], rows: pd.DataFrame, index: np.ndarray, columns: list[str],
                 ranked: list[str], deadline: float) -> dict[str, Any]:
    """Mean |interaction| between the most important raw features over up to ``MAX_ROWS`` explained rows.

    Args:
        plan: a ``tree`` plan.
        info: the model's introspection.
        rows: the explained raw rows.
        index: each row's explained output (its predicted class).
        columns: the raw feature names, in ``plan.mapping`` order.
        ranked: feature names, most important first.
        deadline: ``time.monotonic()`` by which this must be done.

    Returns:
        ``{"features", "matrix", "n_rows", "top", "engine"}`` (``top``: the strongest off-diagonal pairs), or
        ``{"skipped": why}``.
    """
    import shap

    if plan.kind != "tree":
        return {"skipped": "interaction values need a tree model"}
    n = min(len(rows), MAX_ROWS)
    X = model_input(rows.iloc[:n], info, plan.pre)
    explainer = shap.TreeExplainer(plan.final)
    mapping = plan.mapping or [[j] for j in range(len(columns))]
    keep = [columns.index(f) for f in ranked[:MAX_FEATURES]]
    held = [c for a in keep for c in mapping[a]]  # the encoded columns of the kept features, in that order
    kernel = Kernel.from_explainer(explainer, workers())
    if kernel is not None and Kernel.interactions_first_call_s() * 2 < deadline - time.monotonic():
        if Kernel.interactions_first_call_s():  # compiled (or loaded) before the probe times a row
            kernel.interaction_rows(take(X, slice(0, 1)), held[:1])
        compute, engine = _kernel_rows, kernel
        engine_name = f"numba Tree SHAP conditioned on the {len(held)} shown columns, {kernel.n_threads} threads"
    else:
        compute, engine = _shap_rows, explainer
        engine_name = "shap TreeExplainer.shap_interaction_values"
    started = time.monotonic()
    probe = min(PROBE_ROWS, n)
    parts = [compute(engine, take(X, slice(0, probe)), index[:probe], held)]
    per_row = (time.monotonic() - started) / probe
    more = int(min(n - probe, max(deadline - time.monotonic(), 0.0) * 0.8 / max(per_row, 1e-6)))
    if more > 0:
        parts.append(compute(engine, take(X, slice(probe, probe + more)), index[probe:probe + more], held))
    values = np.concatenate(parts, axis=0)  # (n, held, encoded columns)
    # sum the held rows, then the columns, of each kept feature's encoded columns
    rows_of = np.zeros((len(keep), len(held)))
    cols_of = np.zeros((values.shape[2], len(keep)))
    position = 0
    for a, raw in enumerate(keep):
        rows_of[a, position:position + len(mapping[raw])] = 1.0
        cols_of[mapping[raw], a] = 1.0
        position += len(mapping[raw])
    matrix = np.abs(rows_of @ values @ cols_of).mean(axis=0)
    pairs = sorted(((float(matrix[a, b]), ranked[a], ranked[b]) for a in range(len(keep))
                    for b in range(a + 1, len(keep))), reverse=True)[:5]
    return {"features": ranked[:MAX_FEATURES], "matrix": matrix.tolist(), "n_rows": len(values),
            "top": [{"features": [a, b], "mean_abs": v} for v, a, b in pairs], "engine": engine_name}
