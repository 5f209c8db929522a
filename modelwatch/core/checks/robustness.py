"""Input fuzzing: put each edge case into ordinary rows and report whether the model copes, fails or drifts.

A case is ``ok`` when the model answers with valid output close to its answer on the unperturbed rows,
``error`` when it raises, and ``degraded`` when it answers but either the output is invalid (NaN, infinite,
probabilities outside [0, 1]) or it moved beyond the tolerance:

- classifiers with ``predict_proba``: the mean total-variation distance between the class-probability
  vectors of the perturbed and unperturbed rows (``0.5 * sum |p' - p|``, 0 to 1) above 0.25;
- classifiers without it: the share of rows whose predicted class changed above 0.25;
- regressors: the mean absolute change above 1.0 standard deviation of the model's predictions on the
  generated data (so a model that extrapolates wildly from a value 10x out of range is flagged).

Boundary cases (the minimum and maximum of a feature's range) are valid inputs: they are ``ok`` unless the
model raises or returns invalid output, however far the output moves. Each case is run on the same
``BASE_ROWS`` ordinary rows (generated rows without missing values that the model predicted without error).

Each case also gets an ``outcome`` (``core.checks.outcomes.OUTCOMES``) that tells a correct refusal from a crash:
an exception is ``rejected`` when the input is invalid for the schema (infinities, out-of-range values, strings in
numbers, unseen categories, NaN in a feature that is not nullable, an empty batch, reordered columns) and
``crashed`` when it is valid (ordinary rows, a single row, a feature's minimum or maximum, NaN in a nullable
feature). ``handled_rate`` is the share of cases ``ok`` or ``rejected``: the gate metric that never counts a correct
refusal as a miss.
"""
from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from modelwatch.core.checks.outcomes import OUTCOMES, VALID_BATCH_CASES, handled_rate, outcome
from modelwatch.core.data.edge_cases import edge_cases
from modelwatch.core.model.predict import predict_output, wants_frame

if TYPE_CHECKING:
    from modelwatch.core.checks.context import SuiteContext

TOLERANCE = {"probability_tv": 0.25, "label_flip_rate": 0.25, "regression_std": 1.0}
CASE_KINDS = ["nan", "+inf", "-inf", "above_range", "below_range", "min", "max", "unseen_category",
              "string_in_numeric"]
BASE_ROWS = 10
BUDGET_S = 60.0


def model_input(frame: pd.DataFrame, info: dict[str, Any]) -> pd.DataFrame | np.ndarray:
    """Like ``model.predict.to_model_input``, but a column that is not numeric reaches an array model as it is.

    A string in a numeric column must be the model's problem to reject, not ours.
    """
    frame = frame[info.get("feature_names") or list(frame.columns)]
    if wants_frame(info):
        return frame
    try:
        return frame.to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        return frame.to_numpy(dtype=object)


def _put(frame: pd.DataFrame, column: str, rows: slice, value: Any) -> None:
    """Write ``value`` into some rows of a column, widening its dtype only when it cannot hold the value."""
    kind = frame[column].dtype.kind
    if isinstance(value, float) and kind in "iub":
        frame[column] = frame[column].astype(float if kind != "b" else object)
    position = frame.columns.get_loc(column)
    try:
        frame.iloc[rows, position] = value
    except (TypeError, ValueError):  # pandas refuses e.g. a string in float64, a number in str: go object
        frame[column] = frame[column].astype(object)
        frame.iloc[rows, position] = value


def _invalid(output: np.ndarray) -> str | None:
    if output.dtype.kind not in "fc":
        return None
    if not np.isfinite(output).all():
        return "the model returned NaN or infinity"
    if output.ndim == 2 and ((output < -1e-6) | (output > 1 + 1e-6)).any():
        return "the model returned probabilities outside [0, 1]"
    return None


def output_shift(base: np.ndarray, output: np.ndarray, scale: float) -> tuple[float, float, str]:
    """How far ``output`` moved from ``base``: ``(shift, tolerance, what the shift measures)``."""
    if base.ndim == 2 and base.dtype.kind == "f":
        return float(0.5 * np.abs(output - base).sum(axis=1).mean()), TOLERANCE["probability_tv"], "probability shift"
    if base.dtype.kind not in "fc" or scale <= 0:
        return float(np.mean(output != base)), TOLERANCE["label_flip_rate"], "share of changed predictions"
    return float(np.abs(output - base).mean() / scale), TOLERANCE["regression_std"], "change in std of predictions"


class _Runner:
    """Call the model on perturbed rows and turn each answer into a case."""

    def __init__(self, model: Any, info: dict[str, Any], base: pd.DataFrame, scale: float) -> None:
        self.model, self.info, self.base, self.scale = model, info, base, scale
        self.baseline: np.ndarray | None = None

    def predict(self, frame: pd.DataFrame | Any, raw: bool = False) -> np.ndarray:
        return predict_output(self.model, frame if raw else model_input(frame, self.info), self.info)

    def judge(self, name: str, feature: str | None, output: np.ndarray | Exception,
              base: np.ndarray | None, valid: bool = False) -> dict[str, Any]:
        case: dict[str, Any] = {"name": name, "feature": feature}
        if isinstance(output, Exception):
            first_line = (str(output).strip().splitlines() or [""])[0]  # scikit-learn appends paragraphs of advice
            return {**case, "status": "error", "message": f"{type(output).__name__}: {first_line[:300]}"}
        problem = _invalid(np.asarray(output))
        if problem:
            return {**case, "status": "degraded", "message": problem}
        if base is None or len(base) != len(output):
            return {**case, "status": "ok", "message": "accepted (no unperturbed output to compare with)"}
        shift, tol, what = output_shift(base, np.asarray(output), self.scale)
        # A valid value (a boundary of the range) may move the output as far as it likes: that is the model.
        status = "degraded" if shift > tol and not valid else "ok"
        verb = "accepted but" if status == "degraded" else "accepted;"
        return {**case, "status": status, "shift": shift,
                "message": f"{verb} {what} {shift:.3g} (tolerance {tol:g})"}

    @staticmethod
    def finish(case: dict[str, Any], kind: str, value: Any, valid: bool) -> dict[str, Any]:
        return {**case, "kind": kind, "value": value, "valid": valid, "outcome": outcome(case["status"], valid)}

    def run_group(self, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One call for a group of cases (rows stacked); one call per case when the stacked call raises."""
        n = len(self.base)
        stacked = pd.concat([self.base] * len(cases), ignore_index=True)
        for i, case in enumerate(cases):
            _put(stacked, case["feature"], slice(i * n, (i + 1) * n), case["value"])
        try:
            output = self.predict(stacked)
            parts = [output[i * n:(i + 1) * n] for i in range(len(cases))] if len(output) == len(stacked) else None
        except Exception:  # noqa: BLE001 - some case in the group fails: find which, one by one
            parts = None
        if parts is None:
            parts = []
            for i in range(len(cases)):
                try:
                    parts.append(self.predict(stacked.iloc[i * n:(i + 1) * n]))
                except Exception as exc:  # noqa: BLE001 - the model's own error is the finding
                    parts.append(exc)
        return [self.finish(self.judge(c["name"], c["feature"], part, self.baseline, c["kind"] in ("min", "max")),
                            c["kind"], c["label"], bool(c["valid"]))
                for c, part in zip(cases, parts)]

    def run_one(self, name: str, frame: Any, raw: bool, base: np.ndarray | None) -> dict[str, Any]:
        try:
            output: np.ndarray | Exception = self.predict(frame, raw)
        except Exception as exc:  # noqa: BLE001 - the model's own error is the finding
            output = exc
        return self.finish(self.judge(name, None, output, base), name, None, name in VALID_BATCH_CASES)


def _base_rows(ctx: SuiteContext) -> pd.DataFrame:
    failed = (ctx.results.get("performance") or {}).get("error_scan", {}).get("failed_rows") or []
    data = ctx.data.drop(index=ctx.data.index[failed]) if failed else ctx.data
    clean = data.dropna()
    return (clean if len(clean) else data).head(BASE_ROWS).reset_index(drop=True)


def _prediction_scale(runner: _Runner, data: pd.DataFrame) -> float:
    if runner.info.get("task") == "classification":
        return 1.0
    try:
        preds = np.asarray(runner.model.predict(model_input(data.dropna().head(500), runner.info)), dtype=float)
        std = float(np.nanstd(preds))
    except Exception:  # noqa: BLE001 - fall back to the base rows' spread
        std = float(np.std(runner.baseline)) if runner.baseline is not None else 0.0
    return std if std > 0 and math.isfinite(std) else 1.0


def compute(ctx: SuiteContext) -> dict[str, Any]:
    """Run the edge cases of the schema and the batch-shape cases against the model.

    Args:
        ctx: the suite context (``config["robustness"]["budget_s"]`` may bound the time, default 60 s).

    Returns:
        ``{"passed", "total", "outcomes", "handled_rate", "cases": [{"name", "feature", "status", "outcome",
        "valid", "message", "kind", "value", "shift"?}], "tolerance", "base_rows", "not_run"}``; ``passed`` counts
        the ``ok`` cases, ``outcomes`` the cases of each ``OUTCOMES`` key, ``handled_rate`` the share of cases
        ``ok`` or ``rejected`` (a correct refusal is not a miss; None without cases).
    """
    options = ctx.config["robustness"]
    stop = time.monotonic() + float(options.get("budget_s", min(BUDGET_S, 0.3 * max(ctx.seconds_left(), 1.0))))
    base = _base_rows(ctx)
    runner = _Runner(ctx.model, ctx.info, base, 1.0)
    cases = [runner.run_one("baseline", base, False, None)]
    if cases[0]["status"] != "error":
        runner.baseline = runner.predict(base)
        cases[0]["message"] = f"{len(base)} ordinary rows predicted"
    runner.scale = _prediction_scale(runner, ctx.data)

    groups: dict[str, list[dict[str, Any]]] = {}
    names = set(ctx.info.get("feature_names") or ctx.data.columns)
    for case in edge_cases(ctx.schema, CASE_KINDS):
        if case["feature"] in names:
            groups.setdefault(case["kind"], []).append(case)
    not_run = 0
    for kind in CASE_KINDS:
        if time.monotonic() > stop:
            not_run += len(groups.get(kind, []))
            continue
        if groups.get(kind):
            cases += runner.run_group(groups[kind])

    cases.append(runner.run_one("empty_batch", base.iloc[:0], False, None))
    single = runner.run_one("single_row", base.iloc[:1], False,
                            runner.baseline[:1] if runner.baseline is not None else None)
    cases.append(single)
    if wants_frame(ctx.info):
        columns = list(model_input(base, ctx.info).columns)[::-1]
        cases.append(runner.run_one("column_order", base[columns], True, runner.baseline))
    for case in cases:
        if case["name"] == "empty_batch" and case["status"] == "ok":
            case["message"] = "an empty batch gives an empty answer"
    found = {name: sum(c["outcome"] == name for c in cases) for name in OUTCOMES}
    return {"passed": sum(c["status"] == "ok" for c in cases), "total": len(cases), "outcomes": found,
            "handled_rate": handled_rate(found), "cases": cases, "tolerance": TOLERANCE, "base_rows": len(base),
            "not_run": not_run}
