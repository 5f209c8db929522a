"""The explainability section of the Result: pick the explainer, explain within the budget, summarise."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import Budget, predicted_index
from modelwatch.core.explain.fallback import permutation_fallback
from modelwatch.core.explain.lime import add_lime
from modelwatch.core.explain.plan import choose
from modelwatch.core.explain.runner import explain
from modelwatch.core.explain.shift import importance_shift
from modelwatch.core.explain.summary import build

if TYPE_CHECKING:
    from modelwatch.core.suite import SuiteContext

MAIN_SHARE_WITH_DRIFT = 0.65  # of the explainability budget; the drifted rows get the rest


def _budget_seconds(ctx: SuiteContext) -> float:
    """What this section may spend: the run's time left, less a margin to write the result."""
    left = ctx.seconds_left()
    return left - min(5.0, 0.05 * max(left, 0.0)) - 1.0


def _frames(ctx: SuiteContext, columns: list[str], max_samples: int, n_background: int,
            rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The rows to explain (generated data, sampled to ``max_samples``) and the background (reference rows)."""
    data = ctx.data[columns].reset_index(drop=True)
    notes = []
    chosen = np.arange(len(data))
    if len(data) > max_samples:
        chosen = np.sort(rng.choice(len(data), max_samples, replace=False))
        notes.append(f"explained a random {max_samples} of the {len(data)} generated rows "
                     "(config.explain.max_samples)")
    rows = data.iloc[chosen].reset_index(drop=True)
    if ctx.sample is not None and set(columns) <= set(ctx.sample.columns) and len(ctx.sample):
        reference = ctx.sample[columns].reset_index(drop=True)
    else:
        rest = np.setdiff1d(np.arange(len(data)), chosen)
        reference = data.iloc[rest] if len(rest) >= min(n_background, 10) else data
    take = np.sort(rng.choice(len(reference), min(n_background, len(reference)), replace=False))
    return rows, reference.iloc[take].reset_index(drop=True), notes


def _labels(ctx: SuiteContext, columns: list[str]) -> tuple[pd.DataFrame, Any] | None:
    if ctx.sample is not None and ctx.target and ctx.target in ctx.sample and set(columns) <= set(ctx.sample):
        return ctx.sample[columns], ctx.sample[ctx.target].to_numpy()
    return None


def compute(ctx: SuiteContext) -> dict[str, Any]:
    """The contract's explainability section, with ``why``, ``method``, ``class``, ``sampled``,
    ``dependence`` and ``drift`` as extras. Never runs past the run's deadline.

    Args:
        ctx: the suite's context; ``ctx.results["drift"]["strongest"]`` (when present) names the drift scenario.

    Returns:
        The section, or ``{"skipped": why}`` when no time is left.
    """
    started = time.monotonic()
    seconds = _budget_seconds(ctx)
    if seconds < 1.0:
        return {"skipped": f"no time left for explanations ({ctx.seconds_left():.1f} s of the run remained)"}
    config = ctx.config["explain"]
    seed = int(ctx.config["seed"])
    columns = list(ctx.info["feature_names"])
    rng = np.random.default_rng(seed)
    rows, background, notes = _frames(ctx, columns, int(config["max_samples"]), int(config["background"]), rng)
    strongest = (ctx.results.get("drift") or {}).get("strongest") if isinstance(ctx.results.get("drift"), dict) \
        else None
    budget = Budget(seconds * (MAIN_SHARE_WITH_DRIFT if strongest else 1.0))
    plan = choose(ctx.model, ctx.info, pd.concat([background, rows], ignore_index=True))
    try:
        att, plan = explain(ctx.model, plan, ctx.info, rows, background, budget, seed)
        if not len(att.rows):
            raise TimeoutError("no row could be explained within the time budget")
    except Exception as exc:  # SHAP cannot handle it: rank features by permutation importance instead
        labelled = _labels(ctx, columns)
        frame, y = labelled if labelled else (rows, None)
        section = permutation_fallback(ctx.model, ctx.info, frame.iloc[:1000], y,
                                       Budget(seconds - (time.monotonic() - started)),
                                       f"{type(exc).__name__}: {exc}", seed)
        section["drift"] = {"skipped": "no SHAP values to compare under drift"}
        return section
    main_s = time.monotonic() - started
    ctx.progress("explaining under drift", 0.97)
    index = predicted_index(ctx.model, att.rows, ctx.info, att)
    section = build(att, index, columns)
    add_lime(section, ctx.model, ctx.info, att.rows, background, index, seed,  # a second local view (#22)
             time.monotonic() + 0.15 * seconds)
    section["sampled"] = "; ".join(notes + att.notes) or None
    section["n_background"] = len(background) if att.explainer != "TreeExplainer" else None
    try:
        section["drift"] = importance_shift(ctx.model, plan, ctx.info, ctx.schema, att, index, background,
                                            strongest, Budget(seconds - (time.monotonic() - started)), seed)
    except Exception as exc:  # the comparison is an extra: it must not cost the section
        section["drift"] = {"skipped": f"{type(exc).__name__}: {exc}"}
    section["timing_s"] = {"explain": round(main_s, 3), "total": round(time.monotonic() - started, 3),
                           "budget": round(seconds, 3)}
    return section
