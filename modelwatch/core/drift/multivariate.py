"""Multivariate drift: a domain classifier learns to tell reference rows from current rows.

If the cross-validated AUC is clearly above 0.5, the two samples differ jointly, even when every column on its own
looks the same (a flipped correlation, for instance). The AUC of out-of-fold scores is tested against 0.5 with the
Mann-Whitney normal approximation (under no drift its std is ``sqrt((n1 + n2 + 1) / (12 n1 n2))``); drift is
declared when that p-value is below 0.05 and the AUC reaches ``MIN_AUC``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from threadpoolctl import threadpool_limits

from modelwatch.core.drift.profile import NUMERIC, column_kind

MIN_AUC = 0.55
MAX_ROWS = 5000  # per side: the classifier's cost, not its verdict, grows past this


def _encode(reference: pd.DataFrame, current: pd.DataFrame,
            kinds: dict[str, str]) -> tuple[np.ndarray, list[bool]]:
    """Numbers as floats (NaN kept: the trees route it), categories as shared integer codes."""
    columns, categorical = [], []
    for name in reference.columns:
        both = pd.concat([reference[name], current[name]], ignore_index=True)
        if kinds[name] == NUMERIC:
            columns.append(both.to_numpy(dtype=float, na_value=np.nan))
            categorical.append(False)
        else:
            codes, _ = pd.factorize(both.astype(str).where(both.notna()))
            codes = codes.astype(float)
            codes[codes < 0] = np.nan
            columns.append(codes)
            # HistGradientBoosting treats at most 255 categories natively; more are left ordinal
            categorical.append(bool(np.nanmax(codes, initial=0) < 255))
    return np.column_stack(columns), categorical


def domain_classifier(reference: pd.DataFrame, current: pd.DataFrame, kinds: dict[str, str] | None = None,
                      seed: int = 0, n_splits: int = 5, alpha: float = 0.05) -> dict[str, Any]:
    """Cross-validated AUC of a gradient-boosted classifier separating reference rows from current rows.

    Args:
        reference: reference rows (features only).
        current: current rows with the same columns.
        kinds: ``numeric`` / ``categorical`` per column (guessed from dtypes when missing).
        seed: for the subsampling, the folds and the trees.
        n_splits: cross-validation folds.
        alpha: significance level of the AUC test.

    Returns:
        ``{"auc", "p_value", "drift_detected", "threshold", "n_reference", "n_current", "model", "n_splits"}``.
    """
    columns = [c for c in reference.columns if c in current.columns]
    rng = np.random.default_rng(seed)
    ref = reference[columns]
    cur = current[columns]
    if len(ref) > MAX_ROWS:
        ref = ref.iloc[np.sort(rng.choice(len(ref), MAX_ROWS, replace=False))]
    if len(cur) > MAX_ROWS:
        cur = cur.iloc[np.sort(rng.choice(len(cur), MAX_ROWS, replace=False))]
    kinds = {c: (kinds or {}).get(c) or column_kind(reference[c]) for c in columns}
    X, categorical = _encode(ref, cur, kinds)
    y = np.r_[np.zeros(len(ref)), np.ones(len(cur))]
    model = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=15, learning_rate=0.1, early_stopping=False,
                                           categorical_features=np.asarray(categorical) if any(categorical) else None,
                                           random_state=seed)
    folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    # one OpenMP thread: on a shared 2-core box the default thread pool makes each fit 10x slower, not faster
    with threadpool_limits(1):
        score = cross_val_predict(model, X, y, cv=folds, method="predict_proba")[:, 1]
    auc = float(roc_auc_score(y, score))
    n1, n2 = len(ref), len(cur)
    null_std = np.sqrt((n1 + n2 + 1) / (12 * n1 * n2))
    p_value = float(stats.norm.sf((auc - 0.5) / null_std))
    return {"auc": auc, "p_value": p_value, "drift_detected": bool(p_value < alpha and auc >= MIN_AUC),
            "threshold": MIN_AUC, "n_reference": n1, "n_current": n2, "n_splits": n_splits,
            "model": "HistGradientBoostingClassifier (out-of-fold scores)"}
