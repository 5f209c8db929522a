"""Explanations under drift: global importance on the reference rows against the same rows after the
strongest drift scenario, and the features whose attribution moves most."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.drift.scenarios import apply
from modelwatch.core.explain.common import Attribution, Budget, predicted_index
from modelwatch.core.explain.plan import Plan
from modelwatch.core.explain.runner import explain
from modelwatch.core.explain.summary import chosen

N_CHANGED = 5


def importance_shift(model: Any, plan: Plan, info: dict[str, Any], schema: dict[str, Any],
                     reference: Attribution, ref_index: np.ndarray, background: pd.DataFrame,
                     strongest: dict[str, Any] | None, budget: Budget, seed: int = 0) -> dict[str, Any]:
    """Compare mean |SHAP| per feature before and after the strongest drift scenario.

    Args:
        model: the whole model.
        plan: the plan the reference rows were explained with.
        info: the model's introspection.
        schema: the run's Schema (drift scenarios read types and ranges from it).
        reference: the attributions of the reference rows.
        ref_index: each reference row's explained output (its predicted class).
        background: the background the reference used.
        strongest: ``{"feature", "kind", "severity"[, "seed"]}`` from the drift section, or None.
        budget: the time allowance.
        seed: the default seed of the scenario.

    Returns:
        ``{"scenario", "n_rows", "reference", "drifted", "changes", "most_changed"}``, or ``{"skipped": why}``.
    """
    if not strongest or not strongest.get("feature"):
        return {"skipped": "the drift section named no strongest scenario"}
    if budget.left() < 1.0:
        return {"skipped": "no time left in the explainability budget"}
    columns = list(info["feature_names"])
    seed = int(strongest.get("seed", seed) or seed)
    drifted_rows = apply(reference.rows.copy(), schema, strongest["kind"], strongest["feature"],
                         float(strongest["severity"]), seed)
    drifted, _ = explain(model, plan, info, drifted_rows.reset_index(drop=True), background, budget, seed)
    n = len(drifted.rows)
    if n == 0:
        return {"skipped": "the time budget ran out before any drifted row was explained"}
    before = np.abs(chosen(reference, ref_index)[:n]).mean(axis=0)
    after = np.abs(chosen(drifted, predicted_index(model, drifted.rows, info, drifted))).mean(axis=0)
    changes = sorted(({"feature": c, "reference": float(b), "drifted": float(a), "delta": float(a - b),
                       "ratio": float(a / b) if b > 0 else None}
                      for c, b, a in zip(columns, before, after)), key=lambda e: -abs(e["delta"]))
    return {
        "scenario": {k: strongest.get(k) for k in ("feature", "kind", "severity")},
        "n_rows": n,
        "explainer": drifted.explainer,
        "reference": [{"feature": c, "mean_abs_shap": float(v)} for c, v in zip(columns, before)],
        "drifted": [{"feature": c, "mean_abs_shap": float(v)} for c, v in zip(columns, after)],
        "changes": changes,
        "most_changed": [e["feature"] for e in changes[:N_CHANGED] if abs(e["delta"]) > 0],
        "sampled": "; ".join(drifted.notes) or None,
    }
