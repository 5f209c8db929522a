"""SHAP interaction values of tree models, when the budget allows: which pairs of raw features act together.

TreeExplainer's interaction values cost about ``p`` times its SHAP values, so a few rows are timed first and the
rest is sized to the time left; encoded columns are summed back to raw columns on both axes.
"""
from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import model_input, take
from modelwatch.core.explain.plan import Plan

MAX_ROWS = 100
PROBE_ROWS = 5
MAX_FEATURES = 12  # features kept in the matrix (the most important ones)


def _values(explainer: Any, X: Any, index: np.ndarray) -> np.ndarray:
    """Interaction values ``(n, m, m)`` of each row's chosen output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = explainer.shap_interaction_values(X)
    values = np.asarray(values, dtype=float)
    if values.ndim == 4 and values.shape[0] == len(index) and values.shape[-1] != values.shape[1]:
        values = np.moveaxis(values, -1, 0)  # (n, m, m, K) -> (K, n, m, m)
    if values.ndim == 4:  # one block per output: each row's chosen one (one output explained: that one)
        k = np.clip(index, 0, values.shape[0] - 1) if values.shape[0] > 1 else np.zeros(len(index), dtype=int)
        values = values[k, np.arange(len(index))]
    return values


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
        ``{"features", "matrix", "n_rows", "top"}`` (``top``: the strongest off-diagonal pairs), or
        ``{"skipped": why}``.
    """
    import shap

    if plan.kind != "tree":
        return {"skipped": "interaction values need a tree model"}
    n = min(len(rows), MAX_ROWS)
    X = model_input(rows.iloc[:n], info, plan.pre)
    explainer = shap.TreeExplainer(plan.final)
    started = time.monotonic()
    probe = min(PROBE_ROWS, n)
    parts = [_values(explainer, take(X, slice(0, probe)), index[:probe])]
    per_row = (time.monotonic() - started) / probe
    more = int(min(n - probe, max(deadline - time.monotonic(), 0.0) * 0.8 / max(per_row, 1e-6)))
    if more > 0:
        parts.append(_values(explainer, take(X, slice(probe, probe + more)), index[probe:probe + more]))
    values = np.concatenate(parts, axis=0)
    mapping = plan.mapping or [[j] for j in range(values.shape[1])]
    A = np.zeros((len(mapping), values.shape[1]))
    for j, cols in enumerate(mapping):
        A[j, cols] = 1.0
    raw = np.abs(np.einsum("ai,nij,bj->nab", A, values, A)).mean(axis=0)
    keep = [columns.index(f) for f in ranked[:MAX_FEATURES]]
    matrix = raw[np.ix_(keep, keep)]
    pairs = sorted(((float(matrix[a, b]), ranked[a], ranked[b]) for a in range(len(keep))
                    for b in range(a + 1, len(keep))), reverse=True)[:5]
    return {"features": ranked[:MAX_FEATURES], "matrix": matrix.tolist(), "n_rows": len(values),
            "top": [{"features": [a, b], "mean_abs": v} for v, a, b in pairs]}
