"""Raw frames as numbers and back, and which encoded columns come from which raw column.

shap's maskers need numeric arrays, so string and boolean columns travel as integer codes and are decoded
inside the function that calls the model. A pipeline's encoded columns are traced to their raw column by
changing one raw column at a time and watching which encoded columns move.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import dense


def _is_numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


class CodedFrame:
    """Integer codes for the non-numeric columns of a frame, with the way back."""

    def __init__(self, frames: list[pd.DataFrame], columns: list[str]) -> None:
        self.columns = list(columns)
        self.categories: dict[str, np.ndarray] = {}
        for col in self.columns:
            if all(_is_numeric(f[col]) for f in frames):
                continue
            seen = pd.concat([f[col] for f in frames], ignore_index=True).dropna()
            self.categories[col] = np.asarray(pd.unique(seen), dtype=object)

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.empty((len(frame), len(self.columns)), dtype=float)
        for j, col in enumerate(self.columns):
            if col in self.categories:
                lookup = {v: i for i, v in enumerate(self.categories[col])}
                out[:, j] = [lookup.get(v, np.nan) for v in frame[col].tolist()]
            else:
                out[:, j] = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return out

    def decode(self, codes: np.ndarray) -> pd.DataFrame:
        data: dict[str, Any] = {}
        for j, col in enumerate(self.columns):
            if col in self.categories:
                cats = np.append(self.categories[col], None)
                index = np.where(np.isnan(codes[:, j]), len(cats) - 1, np.nan_to_num(codes[:, j])).astype(int)
                data[col] = cats[index]
            else:
                data[col] = codes[:, j]
        return pd.DataFrame(data)


def column_mapping(transform: Any, probe: pd.DataFrame, columns: list[str], n_encoded: int) -> list[list[int]] | None:
    """For each raw column, the encoded columns that depend on it; None when one encoded column mixes two.

    Args:
        transform: maps a raw frame to the encoded matrix (the pipeline's preprocessing).
        probe: raw rows covering the values in use (background and explained rows).
        columns: the raw columns, in order.
        n_encoded: how many encoded columns the transform makes.
    """
    base = dense(transform(probe))
    owner = np.full(n_encoded, -1)
    mapping: list[list[int]] = []
    for j, col in enumerate(columns):
        moved = np.zeros(n_encoded, dtype=bool)
        for shift in (1, max(len(probe) // 2, 1)):
            changed = probe.copy()
            changed[col] = np.roll(probe[col].to_numpy(), shift)
            moved_values = dense(transform(changed))
            diff = (moved_values != base) & ~(np.isnan(moved_values) & np.isnan(base))
            moved |= diff.any(axis=0)
        cols = np.flatnonzero(moved)
        if (owner[cols] >= 0).any():
            return None  # an encoded column depends on two raw columns: sums per raw column would not be exact
        owner[cols] = j
        mapping.append(cols.tolist())
    unowned = np.flatnonzero(owner < 0)
    if len(unowned) and np.nanmax(np.abs(base[:, unowned] - base[:1, unowned]), initial=0.0) > 0:
        return None  # it varies, yet no single raw column moves it: an interaction we cannot split
    return mapping


def sum_back(values: np.ndarray, mapping: list[list[int]]) -> np.ndarray:
    """Sum encoded-column attributions ``(n, m, K)`` into raw-column attributions ``(n, p, K)``."""
    out = np.zeros((values.shape[0], len(mapping), values.shape[2]))
    for j, cols in enumerate(mapping):
        if cols:
            out[:, j, :] = values[:, cols, :].sum(axis=1)
    return out
