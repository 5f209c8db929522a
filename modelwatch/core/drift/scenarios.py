"""Drift scenarios: perturb a frame by kind and severity, reproducibly (the public interface other sections use).

Severity semantics (``SEVERITY_LEGEND``; severity 0 always returns an unchanged copy):

- ``mean_shift``: numeric ``x + k*sigma`` (sigma: the column's std in ``frame``).
- ``scale``: numeric, variance multiplied by ``1 + k`` around the column mean (k = 1 doubles the variance).
- ``category_shift``: categorical/bool, a share ``min(1, 0.2*k)`` of the rows is moved to the rarest category
  (the rarest value present in the column; for bool, the rarer of True/False).
- ``missing``: any type, a share ``min(1, 0.2*k)`` of the rows becomes NaN / None.
- ``out_of_range``: a share ``min(1, 0.2*k)`` of the rows goes outside the known range: numeric values become
  ``max + (1+k)*sigma`` or ``min - (1+k)*sigma`` (half each side; ``max``/``min`` from the schema when given,
  else the column); categoricals and bools (which have no range) become the unseen value ``"__unseen__"``.

Integer columns stay integers without losing the shift: shifted and scaled values are rounded up or down at random
with the probabilities that keep each value's expectation (stochastic rounding), so ``mean_shift`` moves the mean
by exactly ``k*sigma`` on average at every severity (plain rounding turned a 0.25 sigma shift into none at all);
out-of-range integers are rounded away from the range.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

KINDS = ("mean_shift", "scale", "category_shift", "missing", "out_of_range")
SHARE_KINDS = ("category_shift", "missing", "out_of_range")  # change a fixed share of the rows, the rest stays
SHARE_PER_SEVERITY = 0.2
UNSEEN_CATEGORY = "__unseen__"
NUMERIC_TYPES = ("float", "int")
SEVERITY_LEGEND: dict[str, str] = {
    "mean_shift": "numbers move by severity x the column's std (integers: rounded at random, the mean shift kept)",
    "scale": "the spread grows: variance x (1 + severity) around the mean",
    "category_shift": "a share of 0.2 x severity of the rows (all at 5) moves to the rarest category",
    "missing": "a share of 0.2 x severity of the rows (all at 5) becomes missing; a missing-share test sees it",
    "out_of_range": "a share of 0.2 x severity of the rows goes (1 + severity) std beyond min/max; categories and "
                    "booleans get an unseen value",
}


def _features(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in schema.get("features", [])}


def feature_type(spec: dict[str, Any] | None, column: pd.Series) -> str:
    """The schema's type for a column, or one guessed from its dtype when the schema does not list it."""
    if spec and spec.get("type"):
        return str(spec["type"])
    if pd.api.types.is_bool_dtype(column):
        return "bool"
    if pd.api.types.is_numeric_dtype(column):
        return "int" if pd.api.types.is_integer_dtype(column) else "float"
    return "categorical"


def applies_to(kind: str, ftype: str) -> bool:
    """Whether a scenario kind makes sense for a feature type (mean and scale shifts need numbers)."""
    if kind in ("mean_shift", "scale"):
        return ftype in NUMERIC_TYPES
    if kind == "category_shift":
        return ftype in ("categorical", "bool")
    return kind in ("missing", "out_of_range")


def _sigma(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    sigma = float(np.std(finite)) if finite.size else 0.0
    # a constant column still has to move: shift by one unit of its own magnitude
    return sigma if sigma > 0 else max(abs(float(finite.mean())) if finite.size else 1.0, 1.0)


def rows_set(kind: str, severity: float, n: int) -> int | None:
    """How many of ``n`` rows a share-based kind (``SHARE_KINDS``) sets; None for the kinds that move every row."""
    return int(round(min(1.0, SHARE_PER_SEVERITY * severity) * n)) if kind in SHARE_KINDS else None


def _rows(n: int, severity: float, rng: np.random.Generator) -> np.ndarray:
    size = rows_set("missing", severity, n)
    return rng.choice(n, size=size, replace=False) if size else np.empty(0, dtype=int)


def _numeric(column: pd.Series, spec: dict[str, Any] | None, kind: str, severity: float,
             rng: np.random.Generator) -> pd.Series:
    values = column.to_numpy(dtype=float, na_value=np.nan).copy()
    sigma = _sigma(values)
    integer = feature_type(spec, column) == "int"
    if kind == "mean_shift":
        values = values + severity * sigma
    elif kind == "scale":
        centre = np.nanmean(values)
        values = centre + (values - centre) * np.sqrt(1.0 + severity)
    elif kind == "missing":
        values[_rows(len(values), severity, rng)] = np.nan
    elif kind == "out_of_range":
        rows = _rows(len(values), severity, rng)
        high = spec.get("max") if spec and spec.get("max") is not None else np.nanmax(values)
        low = spec.get("min") if spec and spec.get("min") is not None else np.nanmin(values)
        upper = rows[: (len(rows) + 1) // 2]
        round_up, round_down = (np.ceil, np.floor) if integer else (float, float)
        values[upper] = round_up(float(high) + (1 + severity) * sigma)
        values[rows[len(upper):]] = round_down(float(low) - (1 + severity) * sigma)
    if integer:
        if kind in ("mean_shift", "scale"):  # stochastic rounding: E[round(v)] = v
            floor = np.floor(values)
            values = floor + (rng.random(len(values)) < values - floor)
        if not np.isnan(values).any() and pd.api.types.is_integer_dtype(column):
            return pd.Series(values.astype(column.dtype), index=column.index, name=column.name)
    return pd.Series(values, index=column.index, name=column.name)


def _categorical(column: pd.Series, spec: dict[str, Any] | None, kind: str, severity: float,
                 rng: np.random.Generator, is_bool: bool) -> pd.Series:
    out = column.astype(object).copy()
    rows = _rows(len(out), severity, rng)
    if kind == "missing":
        out.iloc[rows] = None
        return out
    if kind == "out_of_range":
        out.iloc[rows] = UNSEEN_CATEGORY
        return out
    counts = column.dropna().value_counts()
    if is_bool:
        counts = counts.reindex([False, True], fill_value=0)
    elif spec and spec.get("categories"):
        counts = counts.reindex(list(counts.index) + [c for c in spec["categories"] if c not in counts.index],
                                fill_value=0)
    if counts.empty:
        return out
    # the rarest category: ties go to the one listed last, so the choice never depends on hash order
    rare = counts.index[len(counts) - 1 - int(np.argmin(counts.to_numpy()[::-1]))]
    out.iloc[rows] = rare
    if is_bool and not out.isna().any():
        return out.astype(bool)
    return out


def changed_rows(before: pd.Series, after: pd.Series) -> np.ndarray:
    """Positions of the rows whose value a scenario changed (missing before and after is no change)."""
    a, b = before.to_numpy(), after.to_numpy()
    if a.dtype.kind in "biuf" and b.dtype.kind in "biuf":
        same = a == b
        if a.dtype.kind == "f" and b.dtype.kind == "f":
            same |= np.isnan(a) & np.isnan(b)
    else:
        left, right = pd.Series(a.astype(object)), pd.Series(b.astype(object))
        same = ((left == right) | (left.isna() & right.isna())).to_numpy(dtype=bool)
    return np.flatnonzero(~same)


def apply_column(column: pd.Series, spec: dict[str, Any] | None, kind: str, severity: float,
                 seed: int) -> pd.Series:
    """Drift one column; ``apply(frame, schema, kind, name, severity, seed)[name]`` gives the same values.

    Raises:
        ValueError: the kind does not apply to the column's type.
    """
    ftype = feature_type(spec, column)
    if not applies_to(kind, ftype):
        raise ValueError(f"Drift kind {kind!r} does not apply to {ftype} feature {column.name!r}.")
    if severity == 0:
        return column.copy()
    rng = np.random.default_rng(seed)
    if ftype in NUMERIC_TYPES:
        return _numeric(column, spec, kind, severity, rng)
    return _categorical(column, spec, kind, severity, rng, ftype == "bool")


def apply(frame: pd.DataFrame, schema: dict[str, Any], kind: str, feature: str | None, severity: float,
          seed: int) -> pd.DataFrame:
    """Return a drifted copy of ``frame``.

    Args:
        frame: the rows to perturb (columns not in the schema, such as a target, are left alone).
        schema: a Schema document; it gives each feature's type and range.
        kind: one of ``KINDS``.
        feature: the column to drift, or None for every feature the kind applies to.
        severity: 0 gives an unchanged copy; see the module docstring for each kind's scale.
        seed: the same seed always gives the same rows and values.

    Returns:
        A new frame with the same index and columns.

    Raises:
        ValueError: an unknown kind, an unknown feature, a negative severity, or a kind that does not
            apply to the feature's type.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown drift kind {kind!r}; expected one of {', '.join(KINDS)}.")
    if severity < 0:
        raise ValueError("Drift severity must be zero or more.")
    specs = _features(schema)
    out = frame.copy()
    if feature is not None and feature not in frame.columns:
        raise ValueError(f"Feature {feature!r} is not a column of the frame.")
    names = [feature] if feature is not None else [n for n in (specs or frame.columns) if n in frame.columns]
    if severity == 0:
        return out
    rng = np.random.default_rng(seed)
    drifted: dict[Any, pd.Series] = {}
    for name in names:
        spec = specs.get(name)
        ftype = feature_type(spec, frame[name])
        if not applies_to(kind, ftype):
            if feature is not None:
                raise ValueError(f"Drift kind {kind!r} does not apply to {ftype} feature {name!r}.")
            continue
        if ftype in NUMERIC_TYPES:
            drifted[name] = _numeric(frame[name], spec, kind, severity, rng)
        else:
            drifted[name] = _categorical(frame[name], spec, kind, severity, rng, ftype == "bool")
    if feature is None and not drifted:
        raise ValueError(f"Drift kind {kind!r} applies to none of the features.")
    if len(drifted) == 1 or frame.columns.has_duplicates:
        for name, column in drifted.items():
            out[name] = column
        return out
    # many columns: one new frame instead of a block split per replaced column
    return pd.DataFrame({name: drifted.get(name, out[name]) for name in frame.columns}, index=frame.index)
