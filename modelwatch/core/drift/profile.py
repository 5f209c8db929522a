"""Reference profiles for fast drift detection: each column cleaned, sorted and binned once, lazily, then reused.

A profile is built from the reference frame and reused for every current frame compared with it (every scenario,
every resample, the real current data). Nothing is computed before a test needs it: a 1M-row column that only
meets the binned Wasserstein screen is never sorted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.drift.binned import Binned, bins_for, cut, integer_valued

NUMERIC, CATEGORICAL = "numeric", "categorical"
SORT_TO_COUNT_ROWS = 50_000  # below this, distinct values are simply counted on the sorted column


def column_kind(series: pd.Series, ftype: str | None = None) -> str:
    """``numeric`` for float/int columns, ``categorical`` for categoricals, bools and strings."""
    if ftype is not None:
        return NUMERIC if ftype in ("float", "int") else CATEGORICAL
    if pd.api.types.is_bool_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype):
        return CATEGORICAL
    return NUMERIC if pd.api.types.is_numeric_dtype(series) else CATEGORICAL


def finite_values(series: pd.Series | np.ndarray) -> np.ndarray:
    """The column as float64 with NaN and infinities dropped (one min/max pass finds them without a mask)."""
    if isinstance(series, pd.Series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = np.asarray(series, dtype=np.float64)
    if values.size and not (np.isfinite(values.min()) and np.isfinite(values.max())):
        values = values[np.isfinite(values)]
    return values


@dataclass
class NumericReference:
    """One numeric reference column: finite values, and lazily their order, distinct values and histogram."""

    name: str
    values: np.ndarray
    is_integer: bool = False
    n_rows: int | None = None  # rows before NaN and infinities were dropped
    _sorted: np.ndarray | None = field(default=None, repr=False)
    _uniques: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _binned: Binned | None = field(default=None, repr=False)
    _integer_valued: bool | None = field(default=None, repr=False)
    _std: float | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return int(self.values.size)

    @property
    def lo(self) -> float:
        return float(self.sorted()[0]) if self._sorted is not None else float(self.values.min())

    @property
    def hi(self) -> float:
        return float(self.sorted()[-1]) if self._sorted is not None else float(self.values.max())

    @property
    def std(self) -> float:
        if self._std is None:
            self._std = float(np.std(self.values))
        return self._std

    def sorted(self) -> np.ndarray:
        """The values in order, sorted once and reused by every exact test."""
        if self._sorted is None:
            self._sorted = np.sort(self.values)
        return self._sorted

    def uniques(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct values and their counts."""
        if self._uniques is None:
            ordered = self.sorted()
            starts = np.flatnonzero(np.append(True, ordered[1:] != ordered[:-1]))
            self._uniques = ordered[starts], np.diff(np.append(starts, ordered.size))
        return self._uniques

    def n_bins(self) -> int:
        return bins_for(self.n)

    def scale(self) -> float:
        # a hair under n_bins / range: the maximum lands in the last inner bin, so the bin above the range holds
        # only current values, where the reference CDF is 1 (no crossing there, nothing to sort)
        return self.n_bins() / (self.hi - self.lo) * (1 - 1e-12)

    def binned(self) -> Binned:
        """The values cut on the column's own fine bins (``binned.cut``; requires hi > lo)."""
        if self._binned is None:
            self._binned = cut(self.values, self.lo, self.scale(), self.n_bins())
        return self._binned

    def integer_valued(self) -> bool:
        """Whether every value is a whole number (checked once)."""
        if self._integer_valued is None:
            self._integer_valued = integer_valued(self.values)
        return self._integer_valued

    def histogram(self) -> np.ndarray:
        """Counts over the fine bins of ``binned.cut``."""
        return self.binned().counts

    def distinct_more_than(self, k: int) -> bool:
        """Whether the column has more than ``k`` distinct values, without sorting when the histogram says so."""
        # large columns: the histogram's non-empty bins are a lower bound that usually settles it without a sort
        if self._sorted is None and self.n > SORT_TO_COUNT_ROWS and self.hi > self.lo \
                and np.count_nonzero(self.histogram()) > k:
            return True
        return self.uniques()[0].size > k


@dataclass
class CategoricalReference:
    """One categorical reference column kept as integer codes: its keys and the count of each."""

    name: str
    keys: list[Any]
    counts: np.ndarray
    dtype: Any = None  # the pandas CategoricalDtype when the column had one (current codes then map for free)
    n_rows: int | None = None  # rows before missing values were dropped
    _lookup: dict[Any, int] | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    def lookup(self) -> dict[Any, int]:
        if self._lookup is None:
            self._lookup = {key: i for i, key in enumerate(self.keys)}
        return self._lookup


def category_counts(series: pd.Series) -> tuple[list[Any], np.ndarray, Any]:
    """Keys and counts of a categorical column, NaN dropped; categorical dtypes are counted from their codes."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        keys = list(series.cat.categories)
        counts = np.bincount(codes[codes >= 0] if (codes < 0).any() else codes, minlength=len(keys))
        return keys, counts, series.dtype
    if series.dtype == bool:
        trues = int(np.count_nonzero(series.to_numpy()))
        return [False, True], np.array([series.size - trues, trues]), None
    codes, uniques = pd.factorize(series)  # strings: hashed once here
    valid = codes[codes >= 0]
    return list(uniques), np.bincount(valid, minlength=len(uniques)), None


@dataclass
class ReferenceProfile:
    """Per-column references, built lazily from a frame."""

    columns: dict[str, NumericReference | CategoricalReference]
    kinds: dict[str, str]


def profile(frame: pd.DataFrame, kinds: dict[str, str] | None = None) -> ReferenceProfile:
    """Profile every column of ``frame`` (its kind from ``kinds`` or guessed from the dtype).

    Args:
        frame: the reference rows.
        kinds: ``numeric`` or ``categorical`` per column; missing entries are guessed from the dtype.

    Returns:
        A profile whose sorting and binning happen on first use.
    """
    kinds = {name: (kinds or {}).get(name) or column_kind(frame[name]) for name in frame.columns}
    columns: dict[str, NumericReference | CategoricalReference] = {}
    for name in frame.columns:
        series = frame[name]
        if kinds[name] == NUMERIC:
            columns[name] = NumericReference(name, finite_values(series),
                                             is_integer=pd.api.types.is_integer_dtype(series), n_rows=len(series))
        else:
            keys, counts, dtype = category_counts(series)
            columns[name] = CategoricalReference(name, keys, counts, dtype, n_rows=len(series))
    return ReferenceProfile(columns=columns, kinds=kinds)
