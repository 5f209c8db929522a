"""What a drift scenario does to the model: prediction shift, prediction PSI, flip rate, accuracy drop, gates.

Definitions (all on the same rows before and after the scenario, so they are paired and exact):

- the model's *score*: the prediction for a regressor; P(second class) for a binary classifier with
  ``predict_proba``; for other classifiers the predicted class;
- ``prediction_shift``: mean score after minus before (regression, binary); for multiclass the total variation
  distance between the mean probability vectors (or the predicted-class shares without ``predict_proba``);
- ``prediction_psi``: PSI (Evidently's formula) of the score over the reference's decile bins, or of the
  predicted-class shares for multiclass;
- ``flip_rate``: share of rows whose predicted class changes (classification only, else None); real current
  data are other rows than the reference, so there it is None and ``class_share_shift`` (total variation between
  the predicted-class shares) takes its place;
- ``accuracy_drop``: with labels, accuracy before minus after (classification) or R² before minus after
  (regression), on the labelled sample perturbed the same way (its labels kept);
- ``impact``: the one number that ranks scenarios: ``flip_rate`` for classifiers, ``|prediction_shift|``
  divided by the std of the reference predictions for regressors.

Gates: ``config.thresholds`` maps a metric path to ``{"min": x}`` or ``{"max": x}``. For a scenario the paths are
looked up in ``gate_metrics``'s dict: ``drift.scenario.<prediction_shift|abs_prediction_shift|prediction_psi|
flip_rate|accuracy_drop|impact>`` and ``quality.metrics.<accuracy|f1_macro|mae|rmse|r2>`` (the quality of the
drifted labelled sample). Gates on other paths (latency, ...) do not apply to scenarios. When none applies, the
default gate ``DEFAULT_GATES`` (prediction PSI at most 0.25, the usual "significant shift" line) is used.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm

from modelwatch.core.drift.stattests import psi_test
from modelwatch.core.model.predict import to_model_input
from modelwatch.core.results.gates import lookup

DEFAULT_GATES: dict[str, dict[str, float]] = {"drift.scenario.prediction_psi": {"max": 0.25}}
PSI_BINS = 10


@dataclass
class Outputs:
    """A model's outputs on a frame."""

    score: np.ndarray  # 1-D numbers (regression / binary) or the proba matrix (multiclass)
    labels: np.ndarray | None  # predicted classes (classification)
    kind: str  # "regression", "binary", "multiclass" or "labels"

    def split(self, sizes: list[int]) -> list[Outputs]:
        """The outputs of consecutive blocks of ``sizes`` rows (the frames a batch was concatenated from)."""
        cuts = np.cumsum(sizes)[:-1]
        labels = np.split(self.labels, cuts) if self.labels is not None else [None] * len(sizes)
        return [Outputs(score, lab, self.kind) for score, lab in zip(np.split(self.score, cuts), labels)]

    def with_rows(self, rows: np.ndarray, part: Outputs) -> Outputs:
        """These outputs with ``rows`` replaced by ``part``, the outputs of those rows alone."""
        labels = None if self.labels is None else _replaced(self.labels, rows, part.labels)
        return Outputs(_replaced(self.score, rows, part.score), labels, self.kind)


def _replaced(values: np.ndarray, rows: np.ndarray, new: np.ndarray) -> np.ndarray:
    # a dtype that holds both: a class label longer than any predicted before must not be cut short
    out = values.astype(np.result_type(values, new), copy=True)
    out[rows] = new
    return out


def model_outputs(model: Any, info: dict[str, Any], frame: pd.DataFrame, labels_from_proba: bool = False) -> Outputs:
    """Call the model on ``frame`` the way its introspection says; raises whatever the model raises.

    Args:
        labels_from_proba: take the predicted class as the most probable one instead of calling ``predict``
            again (the caller checks once, on the reference, that the two agree for this model).
    """
    X = to_model_input(frame, info)
    if info.get("task") != "classification":
        return Outputs(np.asarray(model.predict(X), dtype=float).ravel(), None, "regression")
    if info.get("has_predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)
        classes = getattr(model, "classes_", None)
        if labels_from_proba and classes is not None:
            labels = np.asarray(classes)[np.argmax(proba, axis=1)]
        else:
            labels = np.asarray(model.predict(X))
        return Outputs(proba[:, 1] if proba.shape[1] == 2 else proba, labels,
                       "binary" if proba.shape[1] == 2 else "multiclass")
    labels = np.asarray(model.predict(X))
    return Outputs(labels, labels, "labels")


def model_outputs_many(model: Any, info: dict[str, Any], frames: list[pd.DataFrame], labels_from_proba: bool,
                       max_rows: int) -> list[Outputs | Exception]:
    """``model_outputs`` of each frame from as few model calls as ``max_rows`` per call allows.

    Frames are batched with frames of the same column dtypes (concatenating others would change the dtypes the
    model sees), and frames with missing values apart from complete ones: a model that refuses NaN then fails
    one batch, whose frames are retried one by one, and the complete frames keep their shared call. Each entry is
    the frame's outputs or the exception the model raised on it.
    """
    results: list[Outputs | Exception | None] = [None] * len(frames)

    def alone(i: int) -> None:
        try:
            results[i] = model_outputs(model, info, frames[i], labels_from_proba)
        except Exception as exc:  # the model refusing drifted input is a finding, kept per frame
            results[i] = exc

    def predict(batch: list[int]) -> None:
        if len(batch) == 1:
            alone(batch[0])
            return
        try:
            whole = model_outputs(model, info, pd.concat([frames[j] for j in batch], ignore_index=True),
                                  labels_from_proba)
        except Exception:
            for j in batch:
                alone(j)
            return
        for j, part in zip(batch, whole.split([len(frames[j]) for j in batch])):
            results[j] = part

    groups: dict[tuple[Any, bool], list[int]] = {}
    for i, frame in enumerate(frames):
        groups.setdefault((tuple(frame.dtypes), bool(frame.isna().to_numpy().any())), []).append(i)
    for members in groups.values():
        batch: list[int] = []
        for i in members:
            if batch and sum(len(frames[j]) for j in batch) + len(frames[i]) > max_rows:
                predict(batch)
                batch = []
            batch.append(i)
        if batch:
            predict(batch)
    return results  # type: ignore[return-value]


def argmax_matches_predict(model: Any, outputs: Outputs) -> bool:
    """Whether ``predict`` is the most probable class on these outputs (true of most sklearn classifiers)."""
    classes = getattr(model, "classes_", None)
    if outputs.kind not in ("binary", "multiclass") or classes is None:
        return False
    proba = outputs.score if outputs.kind == "multiclass" else np.column_stack([1 - outputs.score, outputs.score])
    return bool(np.array_equal(np.asarray(classes)[np.argmax(proba, axis=1)], outputs.labels))


def _shares(labels: np.ndarray, keys: np.ndarray) -> np.ndarray:
    return np.array([np.count_nonzero(labels == k) for k in keys], dtype=float)


def prediction_shift(before: Outputs, after: Outputs) -> float:
    """Mean score after minus before; total variation of class shares for multiclass and label-only models."""
    if before.kind in ("regression", "binary"):
        return float(np.mean(after.score) - np.mean(before.score))
    if before.kind == "multiclass":
        return float(0.5 * np.abs(after.score.mean(axis=0) - before.score.mean(axis=0)).sum())
    return float(class_share_shift(before, after) or 0.0)


def prediction_psi(before: Outputs, after: Outputs) -> float:
    """PSI of the score on the reference's decile bins (class shares for multiclass and label-only models)."""
    if before.kind in ("regression", "binary"):
        edges = np.unique(np.quantile(before.score, np.linspace(0, 1, PSI_BINS + 1)[1:-1]))
        ref = np.bincount(np.searchsorted(edges, before.score, side="right"), minlength=edges.size + 1)
        cur = np.bincount(np.searchsorted(edges, after.score, side="right"), minlength=edges.size + 1)
    else:
        keys = np.unique(np.concatenate([before.labels, after.labels]).astype(str))
        ref, cur = _shares(before.labels.astype(str), keys), _shares(after.labels.astype(str), keys)
    keep = (ref + cur) > 0
    return psi_test(ref[keep].astype(float), cur[keep].astype(float))[0] if keep.sum() > 1 else 0.0


def flip_rate(before: Outputs, after: Outputs) -> float | None:
    """Share of rows whose predicted class changed; None for regressors."""
    if before.labels is None:
        return None
    return float(np.mean(before.labels != after.labels))


def quality_metrics(task: str, y: np.ndarray, outputs: Outputs) -> dict[str, float]:
    """The headline quality metrics on labelled rows (names as in the quality section).

    Accuracy and macro F1 are counted directly (sklearn's formulas: F1 per class ``2 tp / (true + predicted)``
    over the classes in either array, averaged): sklearn's input validation cost more than the scenarios' model
    calls.
    """
    if task == "classification":
        keys, codes = np.unique(np.concatenate([np.asarray(y), np.asarray(outputs.labels)]), return_inverse=True)
        true, predicted = codes[:len(y)], codes[len(y):]
        hit = true == predicted
        tp = np.bincount(true[hit], minlength=keys.size).astype(float)
        f1 = 2 * tp / (np.bincount(true, minlength=keys.size) + np.bincount(predicted, minlength=keys.size))
        return {"accuracy": float(np.mean(hit)), "f1_macro": float(np.mean(f1))}
    err = outputs.score - y.astype(float)
    return {"mae": float(np.mean(np.abs(err))), "rmse": float(np.sqrt(np.mean(err**2))),
            "r2": float(skm.r2_score(y.astype(float), outputs.score))}


def class_share_shift(before: Outputs, after: Outputs) -> float | None:
    """Total variation distance between the predicted-class shares; None for regressors."""
    if before.labels is None:
        return None
    keys = np.unique(np.concatenate([before.labels, after.labels]).astype(str))
    b, a = _shares(before.labels.astype(str), keys), _shares(after.labels.astype(str), keys)
    return float(0.5 * np.abs(a / a.sum() - b / b.sum()).sum())


def scenario_impact(before: Outputs, after: Outputs, pred_std: float) -> dict[str, Any]:
    """The impact fields of one scenario (see the module docstring)."""
    shift = prediction_shift(before, after)
    flips = flip_rate(before, after)
    impact = flips if flips is not None else abs(shift) / pred_std if pred_std > 0 else abs(shift)
    return {"prediction_shift": shift, "prediction_psi": prediction_psi(before, after), "flip_rate": flips,
            "impact": float(impact)}


def unpaired_impact(before: Outputs, after: Outputs, pred_std: float) -> dict[str, Any]:
    """Impact fields between two different sets of rows (real current data): nothing is compared row by row.

    ``flip_rate`` needs the same rows before and after, so it is None; a classifier's ``impact`` is the total
    variation distance between its predicted-class shares (``class_share_shift``) instead.
    """
    shift = prediction_shift(before, after)
    shares = class_share_shift(before, after)
    impact = shares if shares is not None else abs(shift) / pred_std if pred_std > 0 else abs(shift)
    return {"prediction_shift": shift, "prediction_psi": prediction_psi(before, after), "flip_rate": None,
            "class_share_shift": shares, "impact": float(impact)}


def accuracy_drop(task: str, before: dict[str, float], after: dict[str, float]) -> float:
    """Accuracy (classification) or R² (regression) before minus after."""
    key = "accuracy" if task == "classification" else "r2"
    return float(before[key] - after[key])


def gate_metrics(scenario: dict[str, Any], drifted_quality: dict[str, float] | None) -> dict[str, Any]:
    """The scenario-level metrics dict that gates' paths are looked up in."""
    fields = {k: scenario.get(k) for k in ("prediction_shift", "prediction_psi", "flip_rate", "accuracy_drop",
                                           "impact")}
    if fields["prediction_shift"] is not None:
        fields["abs_prediction_shift"] = abs(fields["prediction_shift"])
    return {"drift": {"scenario": fields}, "quality": {"metrics": dict(drifted_quality or {})}}


def applicable_gates(thresholds: dict[str, dict[str, float]] | None) -> tuple[dict[str, dict[str, float]], str]:
    """The gates that apply to scenarios, and where they come from (``config`` or ``default``)."""
    gates = {path: rule for path, rule in (thresholds or {}).items()
             if path.startswith(("drift.scenario.", "quality.metrics."))}
    return (gates, "config") if gates else (dict(DEFAULT_GATES), "default")


def failed_gates(metrics: dict[str, Any], gates: dict[str, dict[str, float]]) -> list[dict[str, Any]]:
    """Every gate whose metric exists in ``metrics`` and is outside its bound."""
    failed = []
    for path, rule in gates.items():
        value = lookup(metrics, path)
        if value is None or not isinstance(value, (int, float)):
            continue
        for op, bound in rule.items():
            if (op == "min" and value < bound) or (op == "max" and value > bound):
                failed.append({"metric": path, "op": op, "threshold": bound, "value": float(value)})
    return failed


def breaking_points(scenarios: list[dict[str, Any]], gate_source: str) -> list[dict[str, Any]]:
    """Per feature and kind, the smallest severity at which a gate fails or the model raises (None when neither).

    A model that raised on the drifted rows did not hold: that severity is the breaking point, with the error in
    ``error`` (and ``failed`` empty, since no metric could be measured).
    """
    groups: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
    for s in scenarios:
        groups.setdefault((s["feature"], s["kind"]), []).append(s)
    out = []
    for (feature, kind), items in groups.items():
        broken = [s for s in sorted(items, key=lambda s: s["severity"]) if s.get("failed_gates") or s.get("error")]
        first = broken[0] if broken else None
        out.append({"feature": feature, "kind": kind, "severity": first["severity"] if first else None,
                    "failed": first.get("failed_gates") or [] if first else [],
                    "error": first.get("error") if first else None, "gates": gate_source,
                    "max_severity_tested": max(s["severity"] for s in items)})
    return out


def sensitivity(scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Features ranked by the largest impact any of their scenarios had (the all-features scenario excluded)."""
    best: dict[str, dict[str, Any]] = {}
    for s in scenarios:
        if s["feature"] is None or s.get("impact") is None:
            continue
        if s["feature"] not in best or s["impact"] > best[s["feature"]]["impact"]:
            best[s["feature"]] = {"feature": s["feature"], "impact": s["impact"], "kind": s["kind"],
                                  "severity": s["severity"], "prediction_shift": s["prediction_shift"]}
    return sorted(best.values(), key=lambda r: r["impact"], reverse=True)
