"""The explainability section of the Result: pick the explainer, explain within the budget, summarise."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import Budget, predicted_index
from modelwatch.core.explain.fallback import permutation_fallback
from modelwatch.core.explain.interactions import interactions
from modelwatch.core.explain.lime import add_lime
from modelwatch.core.explain.plan import choose
from modelwatch.core.explain.runner import explain
from modelwatch.core.explain.shift import importance_shift
from modelwatch.core.explain.summary import build
from modelwatch.core.explain.what_if import feature_specs

if TYPE_CHECKING:
    from modelwatch.core.checks.context import SuiteContext

MAIN_SHARE_WITH_DRIFT = 0.65  # of the explainability budget; the drifted rows get the rest


def _budget_seconds(ctx: SuiteContext) -> float:
    """What this section may spend: the run's time left, less a margin to write the result."""
    left = ctx.seconds_left()
    return left - min(5.0, 0.05 * max(left, 0.0)) - 1.0


ROWS = ("auto", "current", "sample", "synthetic")  # config.explain.rows: which rows to explain
SOURCE_NOTE = {"current": "the current data sent with the run", "sample": "the sample sent with the run",
               "synthetic": "rows generated from the schema (no sample or current data covers the model's features)"}


def _real(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame | None:
    """The frame's feature columns when it has them all and at least one row."""
    if frame is None or not len(frame) or not set(columns) <= set(frame.columns):
        return None
    return frame[columns].reset_index(drop=True)


def _frames(ctx: SuiteContext, columns: list[str], max_samples: int, n_background: int, rng: np.random.Generator,
            wanted: str = "auto") -> tuple[pd.DataFrame, pd.DataFrame, str, list[str]]:
    """The rows to explain, the background, where the rows come from and notes.

    Real rows come first: ``current`` (what the model meets in production), else ``sample``; generated rows only
    when neither covers the model's features, or when ``wanted`` asks for them. The background is the sample
    (the reference) when there is one, else generated rows not explained.
    """
    sources = {"current": _real(ctx.current, columns), "sample": _real(ctx.sample, columns),
               "synthetic": ctx.data[columns].reset_index(drop=True)}
    order = ["current", "sample", "synthetic"] if wanted == "auto" else [wanted, "synthetic"]
    source = next(name for name in order if sources[name] is not None)
    data = sources[source]
    notes = []
    if wanted not in ("auto", source):
        notes.append(f"config.explain.rows asked for {wanted}, which does not cover the model's features")
    chosen = np.arange(len(data))
    if len(data) > max_samples:
        chosen = np.sort(rng.choice(len(data), max_samples, replace=False))
        notes.append(f"explained a random {max_samples} of the {len(data)} rows of {source} "
                     "(config.explain.max_samples)")
    rows = data.iloc[chosen].reset_index(drop=True)
    sample = sources["sample"]
    if source != "current" and (source == "sample" or sample is None):  # the explained rows' own pool: the rest
        rest = np.setdiff1d(np.arange(len(data)), chosen)
        reference = data.iloc[rest] if len(rest) >= min(n_background, 10) else data
    else:
        reference = sample if sample is not None else sources["synthetic"]
    take = np.sort(rng.choice(len(reference), min(n_background, len(reference)), replace=False))
    return rows, reference.iloc[take].reset_index(drop=True), source, notes


def _labels(ctx: SuiteContext, columns: list[str]) -> tuple[pd.DataFrame, Any] | None:
    if ctx.sample is not None and ctx.target and ctx.target in ctx.sample and set(columns) <= set(ctx.sample):
        return ctx.sample[columns], ctx.sample[ctx.target].to_numpy()
    return None


def _strongest(drift: Any) -> Any:
    return drift.get("strongest") if isinstance(drift, dict) else None


def compute(ctx: SuiteContext) -> dict[str, Any]:
    """The contract's explainability section, with ``why``, ``method``, ``class``, ``sampled``,
    ``dependence`` and ``drift`` as extras. Never runs past the run's deadline.

    Args:
        ctx: the suite's context; the drift section's ``strongest`` (when present) names the drift scenario: it is
            waited for (``SuiteContext.result_of``) after the rows are explained.

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
    rows, background, source, notes = _frames(ctx, columns, int(config["max_samples"]), int(config["background"]),
                                              rng, config["rows"])
    # drift may still be computing beside this section: its strongest scenario is asked for once the rows are done
    drift_coming = "drift" in ctx.pending or _strongest(ctx.results.get("drift")) is not None
    budget = Budget(seconds * (MAIN_SHARE_WITH_DRIFT if drift_coming else 1.0))
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
        section["rows_source"] = {"name": "sample" if labelled else source,
                                  "note": SOURCE_NOTE["sample" if labelled else source]}
        return section
    main_s = time.monotonic() - started
    index = predicted_index(ctx.model, att.rows, ctx.info, att)
    section = build(att, index, columns)
    add_lime(section, ctx.model, ctx.info, att.rows, background, index, seed,  # a second local view (#22)
             time.monotonic() + 0.15 * seconds)
    if plan.kind == "tree":  # which pairs act together, in a tenth of the budget at most
        try:
            section["interactions"] = interactions(plan, ctx.info, att.rows, index, columns,
                                                   [e["feature"] for e in section["feature_importance"]],
                                                   time.monotonic() + 0.1 * seconds)
        except Exception as exc:  # an extra: it must not cost the section
            section["interactions"] = {"skipped": f"{type(exc).__name__}: {exc}"}
    section["sampled"] = "; ".join(notes + att.notes) or None
    section["rows_source"] = {"name": source, "note": SOURCE_NOTE[source]}
    section["features"] = feature_specs(ctx.schema, columns)
    section["n_background"] = len(background) if att.explainer != "TreeExplainer" else None
    strongest = _strongest(ctx.result_of("drift"))
    ctx.step("explaining under drift", 0.9)
    try:
        section["drift"] = importance_shift(ctx.model, plan, ctx.info, ctx.schema, att, index, background,
                                            strongest, Budget(seconds - (time.monotonic() - started)), seed)
    except Exception as exc:  # the comparison is an extra: it must not cost the section
        section["drift"] = {"skipped": f"{type(exc).__name__}: {exc}"}
    section["timing_s"] = {"explain": round(main_s, 3), "total": round(time.monotonic() - started, 3),
                           "budget": round(seconds, 3)}
    return section
