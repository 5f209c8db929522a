"""What-if: one edited row, checked against the run's schema, predicted and explained again (in the sandbox).

``feature_specs`` tells the editor what each feature accepts, ``coerce_row`` checks a row sent by a user (pure: the
web process calls it before any sandbox starts), ``explain_row`` runs in the sandbox child with the model.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import Budget, predicted_index
from modelwatch.core.explain.plan import choose
from modelwatch.core.explain.runner import explain
from modelwatch.core.explain.summary import samples
from modelwatch.core.model.predict import to_model_input

MAX_CATEGORIES = 200  # categories offered by the editor per feature


def feature_specs(schema: dict[str, Any] | None, columns: list[str]) -> list[dict[str, Any]]:
    """Per model feature: its type, categories, range and whether it may be missing (for the editor)."""
    by_name = {f["name"]: f for f in (schema or {}).get("features") or []}
    specs = []
    for name in columns:
        feature = by_name.get(name) or {"type": "float"}
        spec = {"name": name, "type": feature.get("type", "float"),
                "nullable": bool(feature.get("nullable") or feature.get("missing_rate"))}
        if feature.get("categories") is not None:
            spec["categories"] = list(feature["categories"])[:MAX_CATEGORIES]
        spec.update({k: feature[k] for k in ("min", "max") if feature.get(k) is not None})
        specs.append(spec)
    return specs


def _coerce(spec: dict[str, Any], value: Any) -> tuple[Any, str | None]:
    """One value in the feature's type, or the reason it is not acceptable."""
    if value is None or value == "":
        return None, None if spec["nullable"] else "may not be missing"
    kind = spec["type"]
    if kind == "bool":
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        return (text in ("true", "1"), None) if text in ("true", "false", "1", "0") else (None, "must be true or false")
    if kind == "categorical":
        categories = spec.get("categories")
        found = next((c for c in categories or [] if str(c) == str(value)), None)
        if categories and found is None:
            return None, f"must be one of {', '.join(map(str, categories[:10]))}" + (
                "…" if len(categories) > 10 else "")
        return (found if found is not None else str(value)), None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None, "must be a number"
    if not math.isfinite(number):
        return None, "must be a finite number"
    if kind == "int":
        if not number.is_integer():
            return None, "must be a whole number"
        return int(number), None
    return number, None


def coerce_row(specs: list[dict[str, Any]], row: Any) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """Check a user's row against the feature specs.

    Returns:
        The row in the features' types, the problems by feature (empty when the row is usable), and notes on
        values outside the schema's range (allowed: a what-if may go there on purpose).
    """
    if not isinstance(row, dict):
        return {}, {"row": "must be an object of feature -> value"}, []
    known = {s["name"] for s in specs}
    problems = {name: "is not a feature of the model" for name in row if name not in known}
    out, notes = {}, []
    for spec in specs:
        if spec["name"] not in row:
            problems[spec["name"]] = "is missing"
            continue
        value, problem = _coerce(spec, row[spec["name"]])
        if problem:
            problems[spec["name"]] = problem
            continue
        out[spec["name"]] = value
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        low, high = spec.get("min"), spec.get("max")
        if numeric and (low is not None and value < low or high is not None and value > high):
            notes.append(f"{spec['name']} = {value:g} is outside the schema's range "
                         f"[{'−∞' if low is None else low}, {'∞' if high is None else high}]")
    return out, problems, notes


def _frame(rows: list[dict[str, Any]], specs: list[dict[str, Any]]) -> pd.DataFrame:
    """Rows as a frame with each feature's dtype (numbers as floats, categories as objects)."""
    frame = pd.DataFrame(rows, columns=[s["name"] for s in specs])
    for spec in specs:
        if spec["type"] in ("float", "int"):
            frame[spec["name"]] = pd.to_numeric(frame[spec["name"]], errors="coerce").astype(float)
    return frame


def explain_row(model: Any, info: dict[str, Any], row: dict[str, Any], specs: list[dict[str, Any]],
                background: pd.DataFrame, seconds: float = 20.0, seed: int = 0) -> dict[str, Any]:
    """Predict and explain one (already checked) row with the explainer the run would pick.

    Args:
        model: the loaded model (this runs in the sandbox).
        info: its introspection.
        row: a row from ``coerce_row``.
        specs: the feature specs the row was checked against.
        background: reference rows for explainers that need them (linear, model-agnostic).
        seconds: the explanation's time budget.
        seed: the seed of any sampling.

    Returns:
        ``{"prediction", "probabilities", "explanation"}``; the explanation is one explained sample (``row``,
        ``prediction``, ``base_value``, ``contributions``, ``class``, ``by_class``) with ``output``, ``explainer``.
    """
    columns = [s["name"] for s in specs]
    rows = _frame([row], specs)
    background = _frame(background[columns].to_dict(orient="records"), specs) if len(background) else rows
    X = to_model_input(rows, info)
    prediction = np.asarray(model.predict(X)).ravel()[0]
    out: dict[str, Any] = {"prediction": prediction.item() if isinstance(prediction, np.generic) else prediction,
                           "probabilities": None}
    if info.get("task") == "classification" and info.get("has_predict_proba"):
        proba = np.asarray(model.predict_proba(X), dtype=float)[0]
        out["probabilities"] = {str(c): float(p) for c, p in zip(info.get("classes") or [], proba)}
    plan = choose(model, info, pd.concat([background, rows], ignore_index=True))
    att, plan = explain(model, plan, info, rows, background, Budget(seconds), seed)
    if not len(att.rows):
        raise TimeoutError("the row could not be explained within the time budget")
    index = predicted_index(model, att.rows, info, att)
    explanation = samples(att, index, columns)[0]
    out["explanation"] = {**explanation, "output": att.space, "explainer": att.explainer}
    return out


def background_rows(sample: pd.DataFrame | None, schema: dict[str, Any], columns: list[str], n: int,
                    seed: int = 0) -> pd.DataFrame:
    """Reference rows for the explainer: the run's sample when it covers the features, else rows generated from
    the schema (what the run itself used)."""
    from modelwatch.core.data.synthetic import generate

    if sample is not None and len(sample) and set(columns) <= set(sample.columns):
        frame = sample[columns]
    else:
        frame = generate(schema, n, seed)[columns]
    take = np.random.default_rng(seed).choice(len(frame), min(n, len(frame)), replace=False)
    return frame.iloc[np.sort(take)].reset_index(drop=True)


def what_if(model: Any, info: dict[str, Any], payload: dict[str, Any], sample: pd.DataFrame | None) -> dict[str, Any]:
    """The sandbox task: ``payload`` holds ``row`` (checked by ``coerce_row``), ``specs``, ``schema``, ``seed``,
    ``background`` (rows) and ``seconds`` (the explanation's budget)."""
    specs, seed = payload["specs"], int(payload.get("seed", 0))
    background = background_rows(sample, payload["schema"], [s["name"] for s in specs],
                                 int(payload.get("background", 100)), seed)
    return explain_row(model, info, payload["row"], specs, background, float(payload.get("seconds", 20.0)), seed)
