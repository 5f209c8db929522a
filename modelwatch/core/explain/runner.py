"""Run a plan, falling back from a failing explainer to the model-agnostic one with the reason kept."""
from __future__ import annotations

from typing import Any

import pandas as pd

from modelwatch.core.explain.common import Attribution, Budget, expand_binary
from modelwatch.core.explain.plan import Plan, agnostic_plan


def explain(model: Any, plan: Plan, info: dict[str, Any], rows: pd.DataFrame, background: pd.DataFrame,
            budget: Budget, seed: int = 0) -> tuple[Attribution, Plan]:
    """Attributions of ``rows`` by ``plan`` (or the agnostic explainer when the plan's explainer fails).

    Args:
        model: the whole model.
        plan: from ``plan.choose``.
        info: the model's introspection.
        rows: raw rows to explain.
        background: raw reference rows (linear and agnostic explainers).
        budget: the time allowance.
        seed: the seed of any sampling.

    Returns:
        The attributions (binary models get both classes) and the plan that was finally used.
    """
    from modelwatch.core.explain.agnostic import explain_agnostic

    if plan.kind in ("tree", "linear"):
        try:
            if plan.kind == "tree":
                from modelwatch.core.explain.tree import explain_tree

                att = explain_tree(plan, info, rows, budget)
            else:
                from modelwatch.core.explain.linear import explain_linear

                att = explain_linear(model, plan, info, rows, background)
            return expand_binary(att, info.get("classes")), plan
        except Exception as exc:  # shap or our check refused this model: say so and explain it another way
            label = "TreeExplainer" if plan.kind == "tree" else "the exact linear attribution"
            plan = agnostic_plan(model, f"{plan.why} But {label} failed ({type(exc).__name__}: {exc}), so the "
                                        "model-agnostic PermutationExplainer is used instead.")
    att = explain_agnostic(model, plan, info, rows, background, budget, seed)
    return expand_binary(att, info.get("classes")), plan
