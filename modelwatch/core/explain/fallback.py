"""When SHAP cannot explain a model: scikit-learn's permutation importance, labelled as such."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import Budget
from modelwatch.core.model.predict import to_model_input


def permutation_fallback(model: Any, info: dict[str, Any], rows: pd.DataFrame, y: Any | None,
                         budget: Budget, reason: str, seed: int = 0) -> dict[str, Any]:
    """Global importance from shuffling each column (no per-row attributions, no base value).

    Without labels the model's own predictions are the target, so the importance says how much each column
    moves the predictions rather than how much it helps accuracy.

    Args:
        model: the whole model.
        info: the model's introspection.
        rows: raw rows to shuffle.
        y: their labels, or None to use the model's predictions.
        budget: the time allowance: repeats, then rows, are cut to fit it.
        reason: why SHAP could not be used (shown in ``why``).
        seed: the shuffles' seed.

    Returns:
        An explainability section labelled as permutation importance, without samples or base value.
    """
    from sklearn.inspection import permutation_importance

    X = to_model_input(rows, info)
    started = time.monotonic()
    predictions = np.asarray(model.predict(X))
    per_call = time.monotonic() - started
    against = "the true labels"
    if y is None:
        y, against = predictions, "the model's own predictions"
    classification = info.get("task") == "classification"
    scoring = "accuracy" if classification else "r2"
    n_features = len(info["feature_names"])
    # one call per feature and repeat, plus the baseline: cut the repeats, then the rows, to fit the budget
    repeats = 5 if per_call * (5 * n_features + 1) < budget.left() * 0.7 else 1
    calls = repeats * n_features + 1
    if per_call * calls > budget.left() * 0.7 and len(rows) > 50:
        keep = max(int(len(rows) * budget.left() * 0.7 / (per_call * calls)), 50)
        X, y = (X.iloc[:keep] if hasattr(X, "iloc") else X[:keep]), y[:keep]
    result = permutation_importance(model, X, y, scoring=scoring, n_repeats=repeats, random_state=seed)
    columns = list(info["feature_names"])
    importance = sorted(({"feature": c, "mean_abs_shap": float(max(m, 0.0)), "importance": float(m),
                          "importance_std": float(s)}
                         for c, m, s in zip(columns, result.importances_mean, result.importances_std)),
                        key=lambda e: -e["mean_abs_shap"])
    return {
        "explainer": "permutation importance (scikit-learn, fallback)",
        "why": f"SHAP could not explain this model ({reason}); scikit-learn's permutation importance "
               f"({scoring} drop against {against}, {repeats} repeat(s)) ranks the features instead. "
               "mean_abs_shap holds that importance, not a SHAP value.",
        "method": "whole model over raw inputs",
        "base_value": None,
        "additivity_max_error": None,
        "feature_importance": importance,
        "samples": [],
        "n_explained": len(y),
    }
