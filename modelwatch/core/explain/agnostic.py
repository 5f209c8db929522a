"""The model-agnostic explainer: shap's PermutationExplainer over the raw inputs, sized to the time budget.

String and boolean columns reach shap's masker as integer codes and are decoded inside the wrapped model
call. The cost of one explained row is measured before explaining (one model call on a background-sized
batch), and the rows, permutations and background are cut to fit the budget, each cut said in the notes.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import Attribution, Budget, as_2d, type_name
from modelwatch.core.explain.encoding import CodedFrame
from modelwatch.core.explain.plan import Plan
from modelwatch.core.model.predict import to_model_input

DEFAULT_EVALS = 500  # shap's default max_evals for PermutationExplainer
WARMUP_S = 12.0  # numba compiles shap's masking the first time in a process (~10 s measured)
MIN_BACKGROUND = 10


def output_function(model: Any, info: dict[str, Any]) -> tuple[Callable[[Any], np.ndarray], str, list[Any]]:
    """The numeric output to attribute: class probabilities, else the decision function, else the prediction.

    Raises:
        ValueError: a classifier with neither probabilities nor a decision function (labels cannot be attributed).
    """
    classes = list(info.get("classes") or [])
    if info.get("task") == "classification":
        if callable(getattr(model, "predict_proba", None)):
            return lambda X: as_2d(model.predict_proba(X)), "probability", classes
        if callable(getattr(model, "decision_function", None)):
            return (lambda X: as_2d(model.decision_function(X)), "decision function",
                    classes if len(classes) > 2 else classes[-1:])
        raise ValueError(f"{type_name(model)} gives only labels (no predict_proba or decision_function)")
    return lambda X: as_2d(model.predict(X)), "prediction", ["prediction"]


def _compiled() -> bool:
    from shap.maskers import _tabular
    from shap.utils import _masked_model

    return bool(_tabular._delta_masking.signatures) and bool(_masked_model._build_fixed_multi_output.signatures)


def _warm_up() -> float:
    """Compile shap's numba masking on a toy problem, so that cost is not mistaken for the model's."""
    import shap

    if _compiled():
        return 0.0
    started = time.monotonic()
    background = np.zeros((2, 2))
    explainer = shap.PermutationExplainer(lambda X: np.c_[X.sum(axis=1), -X.sum(axis=1)],
                                          shap.maskers.Independent(background, max_samples=2))
    explainer(np.ones((1, 2)), max_evals=5, silent=True)
    return time.monotonic() - started


def _plan_sizes(per_row_call: float, n_rows: int, n_background: int, n_features: int,
                seconds: float) -> tuple[int, int, int, list[str]]:
    """Rows, background rows and evaluations per row that fit ``seconds``; the cuts, in words."""
    notes: list[str] = []
    min_evals = 2 * n_features + 1
    evals = max(DEFAULT_EVALS // min_evals, 1) * min_evals

    def cost(rows: int, background: int, evals: int) -> float:
        # every evaluation runs the model on the background; shap's masking roughly doubles it (measured)
        return rows * evals * background * per_row_call * 2.0 + rows * 0.002

    rows = n_rows
    while rows > min(n_rows, 20) and cost(rows, n_background, evals) > seconds:
        rows = max(rows // 2, min(n_rows, 20))
    while evals > min_evals and cost(rows, n_background, evals) > seconds:
        evals = max((evals // 2 // min_evals) * min_evals, min_evals)
    if evals < DEFAULT_EVALS // min_evals * min_evals:
        notes.append(f"{evals // min_evals} permutation(s) per row instead of shap's default "
                     f"{DEFAULT_EVALS // min_evals}, to fit the time budget")
    background = n_background
    while background > MIN_BACKGROUND and cost(rows, background, evals) > seconds:
        background = max(background // 2, MIN_BACKGROUND)
    if background < n_background:
        notes.append(f"a background of {background} rows instead of {n_background}, to fit the time budget")
    while rows > 1 and cost(rows, background, evals) > seconds:
        rows = max(rows // 2, 1)
    return rows, background, evals, notes


def explain_agnostic(model: Any, plan: Plan, info: dict[str, Any], rows: pd.DataFrame,
                     background: pd.DataFrame, budget: Budget, seed: int = 0) -> Attribution:
    """PermutationExplainer attributions of the whole model over its raw inputs, within ``budget``.

    Args:
        model: the whole model, called on raw frames.
        plan: the agnostic plan (its ``why`` is kept).
        info: the model's introspection.
        rows: raw rows to explain.
        background: raw rows the masker draws hidden features from.
        budget: the time allowance: rows, permutations and background are cut to fit it.
        seed: the permutations' seed.

    Returns:
        Attributions of predict_proba (or decision_function / predict), exactly additive per row.

    Raises:
        ValueError: the model's output cannot be attributed.
        TimeoutError: not even one row fits the budget.
    """
    import shap

    columns = list(info["feature_names"])
    predict, space, outputs = output_function(model, info)
    coder = CodedFrame([rows, background], columns)

    def f(codes: np.ndarray) -> np.ndarray:
        return predict(to_model_input(coder.decode(codes), info))

    if budget.left() < (2 * WARMUP_S if not _compiled() else 1.0):
        raise TimeoutError(f"{budget.left():.1f} s left: too little for a model-agnostic explainer "
                           f"(shap's first call compiles for ~{WARMUP_S:.0f} s)")
    warmup = _warm_up()
    probe = coder.encode(pd.concat([background] * 10, ignore_index=True))
    started = time.monotonic()
    f(probe)
    per_row_call = (time.monotonic() - started) / len(probe)
    _, n_background, evals, notes = _plan_sizes(per_row_call, len(rows), len(background), len(columns),
                                                     budget.left() * 0.8)
    rng = np.random.default_rng(seed)
    bg = coder.encode(background.iloc[np.sort(rng.choice(len(background), n_background, replace=False))])
    explainer = shap.PermutationExplainer(f, shap.maskers.Independent(bg, max_samples=len(bg)), seed=seed)
    # n_rows only sized the permutations and background; rows keep coming while the measured pace allows
    X = coder.encode(rows)
    parts, done, chunk = [], 0, 1
    while done < len(rows):
        started = time.monotonic()
        parts.append(explainer(X[done:done + chunk], max_evals=evals, silent=True))
        done += chunk
        per_row = (time.monotonic() - started) / chunk
        if per_row * 1.2 > budget.left():
            break
        chunk = int(np.clip(min(budget.left() * 0.5, 10.0) / per_row, 1, len(rows) - done))
    values = np.concatenate([np.asarray(p.values, dtype=float).reshape(len(p.values), len(columns), -1)
                             for p in parts])
    base = np.asarray(parts[0].base_values, dtype=float).reshape(len(parts[0].base_values), -1)[0]
    output = f(X[:done])
    if done < len(rows):
        notes.insert(0, f"explained {done} of {len(rows)} rows within the time budget")
    if output.shape[1] == 1 and outputs and len(outputs) != 1:
        outputs = outputs[-1:]
    return Attribution(values=values, base=base, output=output, outputs=outputs or list(range(output.shape[1])),
                       space=space, explainer="PermutationExplainer", why=plan.why, method=plan.method,
                       rows=rows.iloc[:done], notes=notes,
                       details={"n_background": n_background, "max_evals": evals, "warmup_s": round(warmup, 2),
                                "model_seconds_per_row": per_row_call})
