"""TreeExplainer on tree ensembles, in chunks within the time budget, with rows split across the cores.

shap's C extension holds the GIL, so threads running it do not overlap (measured: two threads on 50 rows
each take as long as one on 100). sklearn forests are therefore walked by our own numba kernel
(``treeshap.py``, the same path-dependent algorithm on the same tree arrays) in parallel threads when the
work is worth its compile time; XGBoost and LightGBM compute SHAP values natively on all their threads.
"""
from __future__ import annotations

import os
import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import Attribution, Budget, as_2d, model_input, take
from modelwatch.core.explain.encoding import sum_back
from modelwatch.core.explain.plan import Plan

GBM_LIKE = {"GradientBoostingClassifier", "HistGradientBoostingClassifier"}


def raw_output(final: Any, X: Any) -> tuple[np.ndarray, str]:
    """The estimator's output in the space TreeExplainer explains, and that space's name."""
    from sklearn.base import is_classifier

    module, name = type(final).__module__.split(".")[0], type(final).__name__
    classifier = is_classifier(final) or name.endswith("Classifier")
    if module == "xgboost":
        if name == "Booster":
            import xgboost

            X = xgboost.DMatrix(X)
        return as_2d(final.predict(X, output_margin=True)), "log-odds" if classifier else "raw score"
    if module == "lightgbm":
        return as_2d(final.predict(X, raw_score=True)), "log-odds" if classifier else "raw score"
    if classifier and name in GBM_LIKE:
        return as_2d(final.decision_function(X)), "log-odds"
    if classifier:
        return as_2d(final.predict_proba(X)), "probability"
    return as_2d(final.predict(X)), "prediction"


def workers() -> int:
    """Cores this process may use (the affinity mask when the platform has one)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:
        return max(os.cpu_count() or 1, 1)


def _shap_chunk(explainer: Any, X: Any) -> np.ndarray:
    with warnings.catch_warnings():  # shap warns about its LightGBM output format on every call
        warnings.simplefilter("ignore", UserWarning)
        values = np.asarray(explainer.shap_values(X, check_additivity=False), dtype=float)
    return values[:, :, None] if values.ndim == 2 else values


def explain_tree(plan: Plan, info: dict[str, Any], rows: pd.DataFrame, budget: Budget) -> Attribution:
    """Path-dependent Tree SHAP of ``rows``, stopping early (and saying so) when the budget runs out.

    Args:
        plan: a ``tree`` plan (the final estimator, its preprocessing and the encoded-to-raw mapping).
        info: the model's introspection (feature names, classes).
        rows: raw rows to explain.
        budget: the time allowance; rows are explained in chunks until it is spent.

    Returns:
        Attributions over the raw columns, in the estimator's raw output space.
    """
    import shap

    from modelwatch.core.explain import treeshap

    X = model_input(rows, info, plan.pre)
    explainer = shap.TreeExplainer(plan.final)
    kernel = treeshap.Kernel.from_explainer(explainer, workers()) if workers() > 1 else None  # threads or nothing
    n, parts, done, chunk = len(rows), [], 0, min(len(rows), 8)
    engines: dict[str, int] = {}
    while done < n:
        use_kernel = kernel is not None and kernel.worth_it(n - done, budget)
        started = time.monotonic()
        X_chunk = take(X, slice(done, done + chunk))
        parts.append(kernel.shap_values(X_chunk) if use_kernel else _shap_chunk(explainer, X_chunk))
        per_row = (time.monotonic() - started) / chunk
        engine = kernel.mode if use_kernel else "shap TreeExplainer"
        engines[engine] = engines.get(engine, 0) + chunk
        if kernel is not None and not use_kernel:
            kernel.observe_shap(per_row)
        done += chunk
        room = budget.left() * 0.9
        if done < n and per_row > room:
            break
        # the next chunk is sized to the time left, and to at most ~10 s so that the budget is checked often
        chunk = int(np.clip(min(room, 10.0) / max(per_row, 1e-6), 1, n - done)) if done < n else 0
    values = np.concatenate(parts, axis=0)
    explained = rows.iloc[:done]
    output, space = raw_output(plan.final, take(X, slice(0, done)))
    base = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float)).ravel()
    if values.shape[2] != output.shape[1] and output.shape[1] == 1 and values.shape[2] == 2:
        values, base = values[:, :, 1:], base[1:]  # a two-column probability explained as its positive class
    classes = info.get("classes") or []
    if values.shape[2] == 1:
        outputs = [classes[-1]] if classes else ["prediction"]
    else:
        outputs = list(classes) if len(classes) == values.shape[2] else list(range(values.shape[2]))
    notes = [] if done == n else [f"the time budget ran out after {done} of {n} rows"]
    return Attribution(values=sum_back(values, plan.mapping), base=base, output=output, outputs=outputs,
                       space=space, explainer="TreeExplainer", why=plan.why, method=plan.method, rows=explained,
                       notes=notes, details={"tree_engine": ", ".join(f"{k}: {v} rows" for k, v in engines.items()),
                                             "cores": workers()})
