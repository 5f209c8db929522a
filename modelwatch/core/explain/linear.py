"""Exact SHAP values of linear models: coef x (x - background mean), per encoded column, summed per raw column.

For f(x) = w . T(x) + b, with T acting column by column, the interventional SHAP value of raw column j is
sum over its encoded columns c of w_c (T(x)_c - E[T(X)_c]): no sampling, one matrix product.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import Attribution, as_2d, dense, model_input
from modelwatch.core.explain.plan import Plan
from modelwatch.core.model.predict import to_model_input


class NotLinear(ValueError):
    """The model's coefficients do not reproduce its output."""


def _linear_output(model: Any, plan: Plan, X: Any) -> tuple[np.ndarray, str]:
    from sklearn.base import is_classifier

    if is_classifier(plan.final):
        space = "log-odds" if hasattr(plan.final, "predict_proba") else "decision function"
        return as_2d(model.decision_function(X)), space
    return as_2d(model.predict(X)), "prediction"


def explain_linear(model: Any, plan: Plan, info: dict[str, Any], rows: pd.DataFrame,
                   background: pd.DataFrame) -> Attribution:
    """Exact attributions of a linear model (or a linear pipeline) on ``rows`` against ``background``.

    Args:
        model: the whole model (its decision_function / predict is the output checked against).
        plan: a ``linear`` plan with the column mapping.
        info: the model's introspection.
        rows: raw rows to explain.
        background: raw rows whose mean encoded values are the reference.

    Returns:
        Attributions in log-odds (classifiers with probabilities), decision-function or prediction space.

    Raises:
        NotLinear: ``coef_`` and ``intercept_`` do not give the model's output (then another explainer is used).
    """
    coef = np.atleast_2d(np.asarray(plan.final.coef_, dtype=float))
    intercept = np.broadcast_to(np.atleast_1d(np.asarray(plan.final.intercept_, dtype=float)), (coef.shape[0],))
    encoded = dense(model_input(rows, info, plan.pre))
    mean = dense(model_input(background, info, plan.pre)).mean(axis=0)
    centred = encoded - mean
    values = np.zeros((len(rows), len(plan.mapping), coef.shape[0]))
    for j, cols in enumerate(plan.mapping):
        if cols:
            values[:, j, :] = centred[:, cols] @ coef[:, cols].T
    base = mean @ coef.T + intercept
    output, space = _linear_output(model, plan, to_model_input(rows, info))
    if output.shape[1] != coef.shape[0]:
        raise NotLinear(f"the model gives {output.shape[1]} outputs but has {coef.shape[0]} coefficient rows")
    error = np.abs(base + values.sum(axis=1) - output).max(initial=0.0)
    if error > 1e-6 * max(1.0, np.abs(output).max(initial=0.0)):
        raise NotLinear(f"coef_ and intercept_ miss the model's output by {error:.3g}")
    outputs = list(info.get("classes") or ["prediction"]) if output.shape[1] > 1 else ["prediction"]
    if info.get("task") == "classification" and output.shape[1] == 1:
        outputs = [info["classes"][-1]] if info.get("classes") else ["prediction"]
    return Attribution(values=values, base=base, output=output, outputs=outputs, space=space,
                       explainer="exact linear", why=plan.why, method=plan.method, rows=rows,
                       details={"n_background": len(background), "n_encoded": encoded.shape[1]})
