"""Detector power: how often the chosen test flags a scenario on resamples of the reference's size.

Each resample draws a reference and a current sample independently (bootstrap, with replacement) from the reference
rows, applies the scenario to the current one, and runs the column's test exactly as detection does. At severity 0
the share of flagged resamples is the false-positive rate.
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.drift import scenarios
from modelwatch.core.drift.detect import detect_column, detect_frame
from modelwatch.core.drift.profile import (
    NUMERIC,
    CategoricalReference,
    NumericReference,
    category_counts,
    column_kind,
    finite_values,
    profile,
)
from modelwatch.core.drift.stattests import Selection


def detection_power(reference: pd.DataFrame, schema: dict[str, Any], kind: str, feature: str | None,
                    severity: float, n_resamples: int = 50, seed: int = 0, kinds: dict[str, str] | None = None,
                    selection: Selection | None = None, deadline: float | None = None) -> dict[str, Any]:
    """Share of resamples in which the scenario is detected.

    Args:
        reference: the reference rows (features only).
        schema: the Schema document the scenario reads types and ranges from.
        kind: a scenario kind (see ``scenarios.KINDS``).
        feature: the drifted column, or None for all features (detected when the dataset drifts).
        severity: the scenario's severity; 0 measures the false-positive rate.
        n_resamples: how many resamples.
        seed: makes the resamples reproducible.
        kinds: ``numeric`` / ``categorical`` per column (guessed from dtypes when missing).
        selection: test overrides, as in detection.
        deadline: a ``time.monotonic()`` value; resampling stops there (fewer resamples are reported).

    Returns:
        ``{"power", "n_resamples", "test"}``; ``power`` is None when not a single resample ran.
    """
    if feature is not None:
        return _column_power(reference[feature], schema, kind, severity, n_resamples, seed,
                             (kinds or {}).get(feature), selection, deadline)
    rng = np.random.default_rng(seed)
    columns = list(reference.columns)
    data = reference[columns].reset_index(drop=True)
    n = len(data)
    hits, done = 0, 0
    for b in range(n_resamples):
        if deadline is not None and time.monotonic() > deadline:
            break
        ref_rows = data.iloc[rng.integers(0, n, n)].reset_index(drop=True)
        cur_rows = data.iloc[rng.integers(0, n, n)].reset_index(drop=True)
        drifted = scenarios.apply(cur_rows, schema, kind, feature, severity, seed + 1 + b)
        prof = profile(ref_rows, {c: kinds[c] for c in columns} if kinds else None)
        hits += bool(detect_frame(prof, drifted, selection)["dataset_drift"])
        done += 1
    return {"power": hits / done if done else None, "n_resamples": done, "test": "dataset" if done else None}


def _column_power(column: pd.Series, schema: dict[str, Any], kind: str, severity: float, n_resamples: int,
                  seed: int, col_kind: str | None, selection: Selection | None,
                  deadline: float | None) -> dict[str, Any]:
    """One column's power without building frames: the inner loop of every single-feature scenario."""
    rng = np.random.default_rng(seed)
    spec = next((f for f in schema.get("features", []) if f["name"] == column.name), None)
    col_kind = col_kind or column_kind(column)
    values = column.to_numpy()
    n = len(values)
    hits, done, test = 0, 0, None
    for b in range(n_resamples):
        if deadline is not None and time.monotonic() > deadline:
            break
        ref = pd.Series(values[rng.integers(0, n, n)], name=column.name, dtype=column.dtype)
        cur = pd.Series(values[rng.integers(0, n, n)], name=column.name, dtype=column.dtype)
        drifted = scenarios.apply_column(cur, spec, kind, severity, seed + 1 + b)
        if col_kind == NUMERIC:
            reference: NumericReference | CategoricalReference = NumericReference(
                column.name, finite_values(ref), is_integer=pd.api.types.is_integer_dtype(ref), n_rows=n)
        else:
            reference = CategoricalReference(column.name, *category_counts(ref), n_rows=n)
        result = detect_column(reference, drifted, selection, kind=col_kind)
        hits += bool(result["drift_detected"])
        test = result["test"]
        done += 1
    return {"power": hits / done if done else None, "n_resamples": done, "test": test}
