"""The drift section of the Result: scenarios with detection and impact, power, breaking points, real current data.

Reference: ``ctx.sample`` without its target when a sample was uploaded, else the generated ``ctx.data``.
Config (``config.drift``): ``features`` ("all" or names), ``kinds``, ``severities`` (each kind is swept over them),
``resamples`` (power resamples per scenario), ``tests`` / ``test_thresholds`` (see ``stattests.Selection``) and
``max_seconds`` (the section's time budget); their defaults are ``core.config.DriftConfig``'s.
Detection of a scenario compares the reference with the scenario applied to a bootstrap resample of it; impact
applies it to the reference rows themselves, so predictions are compared row by row (only the rows it changed go
to the model); power resamples those drifted rows against the reference rows (``power.resampled_power``).
``budget`` in the Result states the time budget, the scenarios planned and run, the groups they were predicted in
and how many of those a helper process computed (``Share``), and the power resamples.
"""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from modelwatch.core.checks.quality import align_labels
from modelwatch.core.drift import impact, scenarios
from modelwatch.core.drift.detect import detect_column, detect_frame
from modelwatch.core.drift.multivariate import domain_classifier
from modelwatch.core.drift.power import power_interval, resampled_power
from modelwatch.core.drift.profile import CATEGORICAL, NUMERIC, NumericReference, ReferenceProfile, profile
from modelwatch.core.drift.stattests import Selection

if TYPE_CHECKING:
    from modelwatch.core.checks.context import SuiteContext

DISTRIBUTION_BINS = 30
MAX_CATEGORIES = 30
BATCH_ROWS = 200_000  # rows per model call when scenario frames are predicted together (config drift.batch_rows)
MAX_GROUP = 32  # scenarios per group, so that the time budget is still checked often
TAIL_SHARE = 4  # near the end a group holds 1/TAIL_SHARE of the scenarios left, at least 1/TAIL_SHARE of a group
MAX_GROUPS = 1024  # groups in a plan (larger ones then): their claims fit one atomic write of a pipe (``Share``)
SCENARIO_SHARE = 0.8  # of the budget, for the scenarios; past it the remaining ones are left out (``truncated``)
POWER_METHOD = ("resampled: reference rows against the drifted reference rows, both drawn with replacement at the "
                "reference's size; share-based kinds set their number of rows in each sample")


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
        self.specs = specs
        self.reference = base[self.names].reset_index(drop=True).copy()  # one block per dtype: fast row slices
        self.n = len(self.reference)
        self.columns = {n: self.reference[n] for n in self.names}  # looked up once: every scenario reads them
        dtypes = set(self.reference.dtypes)
        # one numpy dtype for every column: scenario rows are sliced from one matrix (no pandas block splits)
        self.matrix = self.reference.to_numpy() if len(dtypes) == 1 and isinstance(next(iter(dtypes)), np.dtype) \
            else None
        self.ftypes = {n: scenarios.feature_type(specs[n], self.reference[n]) for n in self.names}
        self.kinds = {n: NUMERIC if t in scenarios.NUMERIC_TYPES else CATEGORICAL for n, t in self.ftypes.items()}
        self.profile: ReferenceProfile = profile(self.reference, self.kinds)
        self.selection = Selection.from_config(dc)
        self.scenario_selection = _pinned(self.profile, self.reference, self.kinds, self.selection)
        self.seed = int(ctx.config["seed"])
        self.resamples = int(dc["resamples"])
        self.before = impact.model_outputs(ctx.model, ctx.info, self.reference)
        # one model call per scenario instead of two when predict() is the argmax of predict_proba() here
        self.fast_labels = impact.argmax_matches_predict(ctx.model, self.before)
        self.pred_std = float(np.std(self.before.score)) if self.before.score.ndim == 1 and \
            self.before.kind != "labels" else 0.0
        self.gates, self.gate_source = impact.applicable_gates(ctx.config.get("thresholds"))
        self.labelled = self._labelled()
        # labels on every reference row: the drifted labelled rows are the drifted reference, predicted once
        self.labelled_is_reference = self.labelled is not None and self.labelled[0].equals(self.reference)
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
        outputs = self.before if X.equals(self.reference) else impact.model_outputs(ctx.model, ctx.info, X)
        return X, y, impact.quality_metrics(ctx.info.get("task", "regression"), y, outputs)


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


def _drifted(run: _Run, frame: pd.DataFrame, kind: str, feature: str | None, severity: float,
             seed: int) -> pd.DataFrame:
    """``scenarios.apply`` of ``frame``; for one feature, a shallow copy with that column replaced (same values)."""
    if feature is None:
        return scenarios.apply(frame, run.ctx.schema, kind, None, severity, seed)
    out = frame.copy(deep=False)
    out[feature] = scenarios.apply_column(frame[feature], run.specs.get(feature), kind, severity, seed)
    return out


def _changed(run: _Run, kind: str, feature: str | None, severity: float,
             seed: int) -> tuple[dict[str, pd.Series] | pd.DataFrame, np.ndarray, pd.DataFrame]:
    """The scenario on the reference: its drifted columns, the rows it changed, and those rows drifted.

    Only the changed rows need the model: every other row's outputs are the reference's (``Outputs.with_rows``),
    as they are when frames are predicted together. One feature drifts without copying the other columns.
    """
    if feature is None:
        drifted = scenarios.apply(run.reference, run.ctx.schema, kind, None, severity, seed)
        changed = np.unique(np.concatenate([scenarios.changed_rows(run.columns[n], drifted[n]) for n in run.names]))
        return drifted, changed, drifted.iloc[changed]
    column = scenarios.apply_column(run.columns[feature], run.specs.get(feature), kind, severity, seed)
    changed = scenarios.changed_rows(run.columns[feature], column)
    if run.matrix is not None and column.dtype == run.matrix.dtype:
        block = run.matrix[changed]
        block[:, run.names.index(feature)] = column.to_numpy()[changed]
        return {feature: column}, changed, pd.DataFrame(block, columns=run.reference.columns)
    rows = run.reference.iloc[changed]
    rows[feature] = column.iloc[changed]
    return {feature: column}, changed, rows


def _detection(run: _Run, kind: str, feature: str | None, severity: float, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, len(run.reference), len(run.reference))
    if feature is not None:
        column = run.columns[feature].iloc[rows].reset_index(drop=True)
        drifted = scenarios.apply_column(column, run.specs.get(feature), kind, severity, seed)
        r = detect_column(run.profile.columns[feature], drifted, run.scenario_selection, kind=run.kinds[feature])
        return {"test": r["test"], "test_reason": r.get("reason"), "statistic": r["statistic"],
                "p_value": r["p_value"], "threshold": r.get("threshold"), "drift_detected": r["drift_detected"],
                "missing_share_current": r.get("missing_share_current"), "missing_test": r.get("missing_test")}
    drifted_rows = scenarios.apply(run.reference.iloc[rows].reset_index(drop=True), run.ctx.schema, kind, None,
                                   severity, seed)
    r = detect_frame(run.profile, drifted_rows, run.scenario_selection)
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


@dataclass
class _Applied:
    """One scenario on the reference rows: its drifted columns, the rows it changed, and those rows drifted."""

    columns: dict[str, pd.Series] | pd.DataFrame
    changed: np.ndarray
    part: pd.DataFrame
    labelled: pd.DataFrame | None  # the drifted labelled rows, when they are not the reference rows


def _apply(run: _Run, plan: list[tuple[int, str | None, str, float]]) -> list[_Applied | Exception]:
    separate_labels = run.labelled is not None and not run.labelled_is_reference
    applied: list[_Applied | Exception] = []
    for seed, feature, kind, severity in plan:
        try:
            columns, changed, part = _changed(run, kind, feature, severity, seed)
            labelled = _drifted(run, run.labelled[0], kind, feature, severity, seed) if separate_labels else None
        except Exception as exc:
            applied.append(exc)
            continue
        if feature is not None and severity >= run.drifted.get((feature, kind), (-1.0, None))[0]:
            run.drifted[(feature, kind)] = (severity, columns[feature])
        applied.append(_Applied(columns, changed, part, labelled))
    return applied


def _predict(run: _Run, applied: list[_Applied]) -> tuple[list[Any], list[Any]]:
    """The model's outputs on each scenario's rows and on its labelled rows (an exception where it refused)."""
    ctx = run.ctx
    rows = int((ctx.config.get("drift") or {}).get("batch_rows", BATCH_ROWS))
    predicted = [i for i, a in enumerate(applied) if len(a.part)]
    after: list[Any] = [run.before] * len(applied)
    outputs = impact.model_outputs_many(ctx.model, ctx.info, [applied[i].part for i in predicted],
                                        run.fast_labels, rows)
    for i, out in zip(predicted, outputs):
        after[i] = out if isinstance(out, Exception) else run.before.with_rows(applied[i].changed, out)
    if run.labelled is None:
        return after, [None] * len(applied)
    if run.labelled_is_reference:
        return after, after
    return after, impact.model_outputs_many(ctx.model, ctx.info, [a.labelled for a in applied], run.fast_labels,
                                            rows)


def _one_openmp_thread() -> None:
    """The model thread's OpenMP pool held to one thread for its life (OpenMP's thread count is per thread)."""
    threadpool_limits(limits=1, user_api="openmp")


def _scenarios(run: _Run, plan: list[tuple[int, str | None, str, float]], predictor: Executor) -> list[dict[str, Any]]:
    """Detection, impact and power of a group of scenarios; their changed rows are predicted together.

    ``plan`` holds ``(seed, feature, kind, severity)``. The figures are the same as with one model call per
    scenario on its whole drifted frame: ``impact.model_outputs_many`` only concatenates frames of identical
    dtypes and retries a refused batch frame by frame, and rows a scenario left alone keep the reference's
    outputs. The model runs on ``predictor``'s thread while detection and power (``power.resampled_power``, on
    the drifted rows the impact is measured on) are computed here: the model's native code releases the GIL.
    """
    task = run.ctx.info.get("task", "regression")
    applied = _apply(run, plan)
    predictions = predictor.submit(_predict, run, [a for a in applied if isinstance(a, _Applied)])
    outs, measured = [], []
    for (seed, feature, kind, severity), scenario in zip(plan, applied):
        out = {"feature": feature, "kind": kind, "severity": severity, "seed": seed,
               **_detection(run, kind, feature, severity, seed + 1),
               "prediction_shift": None, "prediction_psi": None, "flip_rate": None, "impact": None,
               "accuracy_drop": None, "error": None, "failed_gates": [], "power": None, "power_ci": None,
               "power_resamples": 0}
        outs.append(out)
        if isinstance(scenario, Exception):
            out["error"] = f"{type(scenario).__name__}: {str(scenario)[:300]}"
            continue
        power = resampled_power(run.columns, scenario.columns, run.kinds, feature, run.resamples, seed + 2,
                                run.scenario_selection, scenarios.rows_set(kind, severity, run.n))
        out["power"], out["power_ci"], out["power_resamples"] = power["power"], power["interval"], power["n_resamples"]
        measured.append(out)
    for out, outputs, labelled in zip(measured, *predictions.result()):
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


class Share(Protocol):
    """The section's scenario groups shared with a helper in another process (``core.sandbox.sibling``): each group
    is computed once, by whichever process claims it first; the helper's groups come back when it is done."""

    def offer(self, count: int) -> None:
        """Make groups ``0 .. count - 1`` claimable, by this process and the helper."""

    def claim(self) -> int | None:
        """The next unclaimed group; None when none is left."""

    def helped(self) -> dict[int, list[dict[str, Any]]]:
        """The helper's groups by index, once it has computed all it claimed."""


def compute(ctx: SuiteContext, share: Share | None = None) -> dict[str, Any]:
    """The drift section (see the module docstring and ``impact`` for every field's definition).

    The model is called dozens of times on thousands of rows; with OpenMP models (HistGradientBoosting,
    LightGBM, XGBoost) waking a thread pool per call costs more than it saves, 7x on a busy 2-core machine, so the
    section's pools are held to one thread (the model's calls run on one helper thread beside the statistics).
    With ``share``, a helper process computes the scenario groups it claims (``assist``); the figures are the same.
    """
    with threadpool_limits(1):
        return _compute(ctx, share)


def assist(ctx: SuiteContext, claim: Callable[[], int | None], started: float) -> dict[int, list[dict[str, Any]]]:
    """The scenario groups this process claims (``claim``) for the process computing the section, by index; the
    section's time budget counts from ``started``, when both processes were told to start."""
    first = claim()
    if first is None:  # the other process took every group already: no need to set anything up
        return {}
    claims = itertools.chain([first], iter(claim, None))
    with threadpool_limits(1):
        run = _Run(ctx)
        return _run_groups(run, _groups(run), lambda: next(claims, None), started + _budget(ctx) * SCENARIO_SHARE)


def _budget(ctx: SuiteContext) -> float:
    return min(float(ctx.config["drift"]["max_seconds"]), max(ctx.seconds_left() * 0.4, 1.0))


def _groups(run: _Run) -> list[list[tuple[int, str | None, str, float]]]:
    """The planned scenarios, seeded by their position, in groups whose changed rows are predicted together."""
    plan = [(run.seed + 1000 * i, *step) for i, step in enumerate(_plan(run))]
    # small enough that the time budget is checked often, with room left for the false-positive rates, the real
    # current data and the domain classifier; full groups use at most half of MAX_GROUPS, leaving the other half for
    # the smaller groups of the end (a few dozen at most)
    size = max(1, min(MAX_GROUP, BATCH_ROWS // max(len(run.reference), 1)), -(-len(plan) // (MAX_GROUPS // 2)))
    groups, start = [], 0
    while start < len(plan):
        # near the end, a fraction of what is left (down to a quarter group, so that batching still pays): two
        # processes sharing the groups finish within a small one
        step = min(size, max(-(-(len(plan) - start) // TAIL_SHARE), size // TAIL_SHARE))
        groups.append(plan[start:start + step])
        start += step
    return groups


def _in_order(count: int) -> Callable[[], int | None]:
    """The claims of a process computing every group itself: each in turn."""
    indices = iter(range(count))
    return lambda: next(indices, None)


def _run_groups(run: _Run, groups: list[list[tuple[int, str | None, str, float]]], claim: Callable[[], int | None],
                stop: float) -> dict[int, list[dict[str, Any]]]:
    """Each group ``claim`` gives, until it gives None or the clock passes ``stop`` (the rest are left out)."""
    done: dict[int, list[dict[str, Any]]] = {}
    with ThreadPoolExecutor(1, thread_name_prefix="drift-model", initializer=_one_openmp_thread) as predictor:
        while time.monotonic() <= stop and (index := claim()) is not None:
            done[index] = _scenarios(run, groups[index], predictor)
    return done


def _largest_drifted(run: _Run, results: list[dict[str, Any]]) -> None:
    """``run.drifted`` for scenarios another process ran: each feature and kind at its largest severity applied
    without error, recomputed (a scenario's columns depend only on its seed), in the plan's order."""
    ran = [s for s in results if s["feature"] is not None]
    for out in sorted(ran, key=lambda s: -s["severity"]):
        key = (out["feature"], out["kind"])
        if run.drifted.get(key, (-1.0, None))[0] >= out["severity"]:
            continue
        try:
            column = scenarios.apply_column(run.columns[key[0]], run.specs.get(key[0]), key[1], out["severity"],
                                            out["seed"])
        except Exception:  # as in ``_apply``: a scenario that cannot be applied draws nothing
            continue
        run.drifted[key] = (out["severity"], column)
    first = {}
    for position, out in enumerate(ran):
        first.setdefault((out["feature"], out["kind"]), position)
    run.drifted = dict(sorted(run.drifted.items(), key=lambda item: first.get(item[0], len(first))))


def _compute(ctx: SuiteContext, share: Share | None) -> dict[str, Any]:
    started = time.monotonic()
    budget = _budget(ctx)
    run = _Run(ctx)
    groups = _groups(run)
    plan = [scenario for group in groups for scenario in group]
    if share is not None:
        share.offer(len(groups))
    claim = share.claim if share is not None else _in_order(len(groups))
    done = _run_groups(run, groups, claim, started + budget * SCENARIO_SHARE)
    helped = share.helped() if share is not None else {}
    results = [out for index in sorted(done.keys() | helped.keys())
               for out in (done[index] if index in done else helped[index])]
    if helped:
        _largest_drifted(run, results)
    truncated = len(results) < len(plan)
    scenarios_seconds = time.monotonic() - started
    fpr = {f: resampled_power(run.reference, run.reference, run.kinds, f, run.resamples, run.seed + 7,
                              run.scenario_selection)
           for f in sorted({s["feature"] for s in results if s["feature"]})}
    current = _current(run)
    multivariate: dict[str, Any] | None = None
    if current is not None and not current["missing_columns"]:
        multivariate = domain_classifier(run.reference, ctx.current[run.names], run.kinds, seed=run.seed)
    measured = [p for p in fpr.values() if p["power"] is not None]
    rates = [p["power"] for p in measured]  # each of run.resamples: their mean is the pooled share
    pooled = (sum(round(p["power"] * p["n_resamples"]) for p in measured), sum(p["n_resamples"] for p in measured))
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
                                "overall_ci": power_interval(*pooled),
                                "per_feature": {f: p["power"] for f, p in fpr.items()},
                                "n_resamples": run.resamples},
        "multivariate": multivariate,
        "severity_legend": dict(scenarios.SEVERITY_LEGEND),
        "distributions": _distributions(run, run.drifted),
        "impact_measure": "flip_rate" if run.before.labels is not None else "abs(prediction_shift) / std(prediction)",
        "budget": {"max_seconds": budget, "scenarios_planned": len(plan), "scenarios_run": len(results),
                   "scenarios_seconds": scenarios_seconds, "groups": len(groups), "groups_helped": len(helped),
                   "power_resamples": run.resamples,
                   "power_method": POWER_METHOD},
        "seconds": time.monotonic() - started,
    }
