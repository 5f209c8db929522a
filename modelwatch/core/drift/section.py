"""The drift section of the Result: scenarios with detection and impact, power, breaking points, real current data.

Reference: ``ctx.sample`` without its target when a sample was uploaded, else the generated ``ctx.data``.
Config (``config.drift``): ``features`` ("all" or names), ``kinds``, ``severities`` (each kind is swept over them),
``resamples`` (power resamples per scenario), ``tests`` / ``test_thresholds`` (see ``stattests.Selection``) and
``max_seconds`` (the section's time budget); their defaults are ``core.config.DriftConfig``'s.
Detection of a scenario compares the reference with the scenario applied to a bootstrap resample of it; impact
applies it to the reference rows themselves, so predictions are compared row by row.
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from modelwatch.core.drift import impact, scenarios
from modelwatch.core.drift.detect import detect_column, detect_frame
from modelwatch.core.drift.multivariate import domain_classifier
from modelwatch.core.drift.power import detection_power
from modelwatch.core.drift.profile import CATEGORICAL, NUMERIC, NumericReference, ReferenceProfile, profile
from modelwatch.core.drift.stattests import Selection
from modelwatch.core.quality import align_labels

if TYPE_CHECKING:
    from modelwatch.core.suite import SuiteContext

DISTRIBUTION_BINS = 30
MAX_CATEGORIES = 30
BATCH_ROWS = 200_000  # rows per model call when scenario frames are predicted together (config drift.batch_rows)
MAX_GROUP = 32  # scenarios per group, so that the time budget is still checked often
FPR_KIND = "missing"  # applies to every type; at severity 0 every kind leaves the data unchanged


class _Run:
    """What every scenario reuses: reference, its profile, model outputs before drift, labels, gates."""

    def __init__(self, ctx: SuiteContext) -> None:
        self.ctx = ctx
        dc = ctx.config.get("drift") or {}
        specs = {f["name"]: f for f in ctx.schema["features"]}
        # the uploaded sample is the reference only when it has every feature the model takes
        has_all = ctx.sample is not None and all(n in ctx.sample.columns for n in specs if n != ctx.target)
        base = ctx.sample if has_all else ctx.data
        self.source = "sample" if has_all else "generated"
        self.names = [n for n in specs if n in base.columns and n != ctx.target]
        self.reference = base[self.names].reset_index(drop=True)
        self.ftypes = {n: scenarios.feature_type(specs[n], self.reference[n]) for n in self.names}
        self.kinds = {n: NUMERIC if t in scenarios.NUMERIC_TYPES else CATEGORICAL for n, t in self.ftypes.items()}
        self.profile: ReferenceProfile = profile(self.reference, self.kinds)
        self.selection = Selection.from_config(dc)
        self.scenario_selection = _pinned(self.profile, self.reference, self.kinds, self.selection)
        self.seed = int(ctx.config["seed"])
        self.before = impact.model_outputs(ctx.model, ctx.info, self.reference)
        # one model call per scenario instead of two when predict() is the argmax of predict_proba() here
        self.fast_labels = impact.argmax_matches_predict(ctx.model, self.before)
        self.pred_std = float(np.std(self.before.score)) if self.before.score.ndim == 1 and \
            self.before.kind != "labels" else 0.0
        self.gates, self.gate_source = impact.applicable_gates(ctx.config.get("thresholds"))
        self.labelled = self._labelled()
        self.drifted: dict[tuple[str, str], tuple[float, pd.Series]] = {}

    def _labelled(self) -> tuple[pd.DataFrame, np.ndarray, dict[str, float]] | None:
        ctx = self.ctx
        if ctx.sample is None or not ctx.target or ctx.target not in ctx.sample.columns \
                or any(n not in ctx.sample.columns for n in self.names):
            return None
        X, y = ctx.sample[self.names].reset_index(drop=True), ctx.sample[ctx.target].to_numpy()
        if ctx.info.get("task") == "classification":
            y = align_labels(y, ctx.info.get("classes") or [])
            keep = np.array([v is not None for v in y])
        else:
            y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy()
            keep = ~np.isnan(y)
        X, y = X[keep].reset_index(drop=True), np.asarray(y[keep].tolist())
        if not len(y):
            return None
        return X, y, impact.quality_metrics(ctx.info.get("task", "regression"), y,
                                            impact.model_outputs(ctx.model, ctx.info, X))


def _pinned(prof: ReferenceProfile, reference: pd.DataFrame, kinds: dict[str, str],
            selection: Selection) -> Selection:
    """The user's selection with each column's test fixed to the one its reference gets.

    Scenarios and power resamples then use one test per column at every severity: new values (out of range,
    unseen) could otherwise switch a column from chi-square to KS mid-sweep, and power would not grow with
    severity.
    """
    tests = dict(selection.tests)
    for name, ref in prof.columns.items():
        chosen = detect_column(ref, reference[name], selection, kind=kinds[name])["test"]
        if chosen:
            tests[name] = chosen
    return Selection(tests=tests, thresholds=dict(selection.thresholds))


def _detection(run: _Run, kind: str, feature: str | None, severity: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    base = run.reference.iloc[rng.integers(0, len(run.reference), len(run.reference))].reset_index(drop=True)
    drifted = scenarios.apply(base, run.ctx.schema, kind, feature, severity, seed)
    if feature is not None:
        r = detect_column(run.profile.columns[feature], drifted[feature], run.scenario_selection,
                          kind=run.kinds[feature])
        return {"test": r["test"], "test_reason": r.get("reason"), "statistic": r["statistic"],
                "p_value": r["p_value"], "threshold": r.get("threshold"), "drift_detected": r["drift_detected"],
                "missing_share_current": r.get("missing_share_current"), "missing_test": r.get("missing_test")}
    r = detect_frame(run.profile, drifted, run.scenario_selection)
    return {"test": "dataset", "test_reason": "share of drifted columns >= 0.5", "statistic": r["share_drifted"],
            "p_value": None, "threshold": 0.5, "drift_detected": r["dataset_drift"]}


def _distributions(run: _Run, drifted: dict[tuple[str, str], tuple[float, pd.Series]]) -> dict[str, Any]:
    """Per feature, reference / drifted (each kind at its largest severity) / current counts on shared bins."""
    out: dict[str, Any] = {}
    current = run.ctx.current
    for name in run.names:
        series = {"reference": run.reference[name]}
        series.update({f"{kind} {sev:g}": col for (feat, kind), (sev, col) in drifted.items() if feat == name})
        if current is not None and name in current.columns:
            series["current"] = current[name]
        if run.kinds[name] == NUMERIC:
            values = {k: pd.to_numeric(v, errors="coerce").to_numpy(dtype=float) for k, v in series.items()}
            finite = np.concatenate([v[np.isfinite(v)] for v in values.values()])
            if not finite.size:
                continue
            edges = np.histogram_bin_edges(finite, bins=DISTRIBUTION_BINS)
            out[name] = {"kind": NUMERIC, "edges": edges.tolist(),
                         "counts": {k: np.histogram(v[np.isfinite(v)], edges)[0].tolist() for k, v in values.items()},
                         "missing": {k: int((~np.isfinite(v)).sum()) for k, v in values.items()}}
        else:
            text = {k: v.astype(object).where(v.notna(), None) for k, v in series.items()}
            keys = sorted({str(x) for v in text.values() for x in v.dropna().unique()})[:MAX_CATEGORIES]
            out[name] = {"kind": CATEGORICAL, "categories": keys,
                         "counts": {k: [int((v.astype(str) == key).sum()) for key in keys] for k, v in text.items()},
                         "missing": {k: int(v.isna().sum()) for k, v in text.items()}}
    return out


def _scenarios(run: _Run, plan: list[tuple[int, str | None, str, float]]) -> list[dict[str, Any]]:
    """Detection and impact of a group of scenarios; their drifted frames are predicted together.

    ``plan`` holds ``(seed, feature, kind, severity)``. The figures are the same as with one model call per
    scenario: ``impact.model_outputs_many`` only concatenates frames of identical dtypes and retries a refused
    batch frame by frame.
    """
    ctx = run.ctx
    task = ctx.info.get("task", "regression")
    outs, frames, labelled_frames, applied = [], [], [], []
    for seed, feature, kind, severity in plan:
        out = {"feature": feature, "kind": kind, "severity": severity, "seed": seed,
               **_detection(run, kind, feature, severity, seed + 1),
               "prediction_shift": None, "prediction_psi": None, "flip_rate": None, "impact": None,
               "accuracy_drop": None, "error": None, "failed_gates": []}
        outs.append(out)
        try:
            drifted = scenarios.apply(run.reference, ctx.schema, kind, feature, severity, seed)
            labelled = None if run.labelled is None else \
                scenarios.apply(run.labelled[0], ctx.schema, kind, feature, severity, seed)
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
            continue
        if feature is not None and severity >= run.drifted.get((feature, kind), (-1.0, None))[0]:
            run.drifted[(feature, kind)] = (severity, drifted[feature])
        applied.append(out)
        frames.append(drifted)
        labelled_frames.append(labelled)
    rows = int((ctx.config.get("drift") or {}).get("batch_rows", BATCH_ROWS))
    after = impact.model_outputs_many(ctx.model, ctx.info, frames, run.fast_labels, rows)
    labelled_after = [None] * len(frames) if run.labelled is None else \
        impact.model_outputs_many(ctx.model, ctx.info, labelled_frames, run.fast_labels, rows)
    for out, outputs, labelled in zip(applied, after, labelled_after):
        # the model refusing drifted input (NaN, unseen category) is itself a finding
        failure = next((o for o in (outputs, labelled) if isinstance(o, Exception)), None)
        if failure is not None:
            out["error"] = f"{type(failure).__name__}: {str(failure)[:300]}"
            continue
        out.update(impact.scenario_impact(run.before, outputs, run.pred_std))
        quality = None
        if run.labelled is not None:
            _, y, before_quality = run.labelled
            quality = impact.quality_metrics(task, y, labelled)
            out["accuracy_drop"] = impact.accuracy_drop(task, before_quality, quality)
            out["quality"] = quality
        out["failed_gates"] = impact.failed_gates(impact.gate_metrics(out, quality), run.gates)
    return outs


def _plan(run: _Run) -> list[tuple[str | None, str, float]]:
    dc = run.ctx.config.get("drift") or {}
    wanted = dc.get("features", "all")
    features = run.names if wanted in ("all", None) else [f for f in wanted if f in run.names]
    kinds = [k for k in (dc.get("kinds") or []) if k in scenarios.KINDS]
    severities = sorted({float(s) for s in (dc.get("severities") or []) if float(s) > 0})
    plan = []
    for feature in [*features, None]:
        for kind in kinds:
            usable = [f for f in (features if feature is None else [feature])
                      if scenarios.applies_to(kind, run.ftypes[f])]
            if usable and (feature is not None or len(features) > 1):
                plan += [(feature, kind, s) for s in severities]
    return plan


def _current(run: _Run) -> dict[str, Any] | None:
    ctx = run.ctx
    if ctx.current is None:
        return None
    cur = ctx.current
    present = [n for n in run.names if n in cur.columns]
    out: dict[str, Any] = detect_frame(run.profile, cur[present], run.selection)
    out["missing_columns"] = [n for n in run.names if n not in cur.columns]
    out["n_rows"] = len(cur)
    if out["missing_columns"]:
        out["prediction_drift"] = {"skipped": "the current data lacks some of the model's features"}
    else:
        try:
            after = impact.model_outputs(ctx.model, ctx.info, cur[run.names])
            pred: dict[str, Any] = impact.unpaired_impact(run.before, after, run.pred_std)
            if run.before.score.ndim == 1 and run.before.kind != "labels":
                ref_score = NumericReference("prediction", run.before.score)
                pred["test"] = detect_column(ref_score, after.score, run.selection)
            out["prediction_drift"] = pred
            if run.labelled is not None and ctx.target in cur.columns:
                out["quality_drift"] = _quality_drift(run, cur)
        except Exception as exc:
            out["prediction_drift"] = {"skipped": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return out


def _quality_drift(run: _Run, cur: pd.DataFrame) -> dict[str, Any]:
    ctx = run.ctx
    task = ctx.info.get("task", "regression")
    y = cur[ctx.target].to_numpy()
    if task == "classification":
        y = align_labels(y, ctx.info.get("classes") or [])
        keep = np.array([v is not None for v in y])
    else:
        y = pd.to_numeric(pd.Series(y), errors="coerce").to_numpy()
        keep = ~np.isnan(y)
    X = cur.loc[keep, run.names].reset_index(drop=True)
    current = impact.quality_metrics(task, np.asarray(y[keep].tolist()), impact.model_outputs(ctx.model, ctx.info, X))
    reference = run.labelled[2] if run.labelled else {}
    return {"reference": reference, "current": current,
            "delta": {k: current[k] - reference[k] for k in current if k in reference}}


def compute(ctx: SuiteContext) -> dict[str, Any]:
    """The drift section (see the module docstring and ``impact`` for every field's definition).

    The model is called hundreds of times on about a thousand rows; with OpenMP models (HistGradientBoosting,
    LightGBM, XGBoost) waking a thread pool per call costs more than it saves, 7x on a busy 2-core machine, so the
    section runs single-threaded.
    """
    with threadpool_limits(1):
        return _compute(ctx)


def _compute(ctx: SuiteContext) -> dict[str, Any]:
    started = time.monotonic()
    dc = ctx.config["drift"]
    budget = min(float(dc["max_seconds"]), max(ctx.seconds_left() * 0.4, 1.0))
    run = _Run(ctx)
    results: list[dict[str, Any]] = []
    plan = [(run.seed + 1000 * i, *step) for i, step in enumerate(_plan(run))]
    # scenarios go in groups predicted together; the budget is checked between groups
    group = max(1, min(MAX_GROUP, BATCH_ROWS // max(len(run.reference), 1)))
    for start in range(0, len(plan), group):
        if time.monotonic() - started > budget * 0.5:
            break
        results += _scenarios(run, plan[start:start + group])
    truncated = len(results) < len(plan)
    current = _current(run)
    multivariate: dict[str, Any] | None = None
    if current is not None and not current["missing_columns"]:
        multivariate = domain_classifier(run.reference, ctx.current[run.names], run.kinds, seed=run.seed)
    # power last: it is the most expensive part and the one that degrades gracefully with fewer resamples
    n_resamples = int(dc["resamples"])
    deadline = started + budget
    for s in results:
        # the all-features scenarios test every column per resample: fewer resamples keep them affordable
        n = n_resamples if s["feature"] is not None else max(5, n_resamples // 4)
        p = detection_power(run.reference, ctx.schema, s["kind"], s["feature"], s["severity"], n,
                            s["seed"], run.kinds, run.scenario_selection, deadline)
        s["power"], s["power_resamples"] = p["power"], p["n_resamples"]
    fpr = {f: detection_power(run.reference, ctx.schema, FPR_KIND, f, 0.0, n_resamples, run.seed + 7, run.kinds,
                              run.scenario_selection, deadline)
           for f in sorted({s["feature"] for s in results if s["feature"]})}
    rates = [p["power"] for p in fpr.values() if p["power"] is not None]
    single = [s for s in results if s["feature"] is not None and s["impact"] is not None] or \
        [s for s in results if s["impact"] is not None]
    top = max(single, key=lambda s: s["impact"]) if single else None
    return {
        "reference": run.source,
        "n_reference": len(run.reference),
        "scenarios": results,
        "truncated": truncated,
        "current": current,
        "strongest": {k: top[k] for k in ("feature", "kind", "severity", "seed", "impact")} if top else None,
        "sensitivity": impact.sensitivity(results),
        "breaking_points": impact.breaking_points(results, run.gate_source),
        "gates": run.gates,
        "false_positive_rate": {"overall": float(np.mean(rates)) if rates else None,
                                "per_feature": {f: p["power"] for f, p in fpr.items()},
                                "n_resamples": n_resamples},
        "multivariate": multivariate,
        "severity_legend": dict(scenarios.SEVERITY_LEGEND),
        "distributions": _distributions(run, run.drifted),
        "impact_measure": "flip_rate" if run.before.labels is not None else "abs(prediction_shift) / std(prediction)",
        "seconds": time.monotonic() - started,
    }
