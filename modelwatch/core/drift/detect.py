"""Fast per-column drift detection against a reference profile, with the same verdicts as the exact tests.

Numeric columns under the KS and Wasserstein tests: up to ``EXACT_MAX_ROWS`` rows (reference + current) both are
sorted (the reference once, cached). Above it, both columns are cut on fine uniform bins of the reference range
and the exact statistic is assembled bin by bin (``binned``): only the few bins where the two CDFs cross are
sorted. Either way the statistic, p-value and verdict are the exact test's.
Count-based tests (chi-square, Z, Jensen-Shannon, PSI) are linear: categoricals are counted from
integer codes, never re-hashed when the column has a categorical dtype.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.drift import binned, stattests
from modelwatch.core.drift.profile import (
    NUMERIC,
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    category_counts,
    finite_values,
    profile,
)

EXACT_MAX_ROWS = 50_000
MAX_BINNED_UNIQUE = 20  # Evidently's get_binned_data: numeric columns with more distinct values use Sturges bins


def key_order(keys: list[Any]) -> list[int]:
    """The positions of ``keys`` in the order the count tests see them: sorted, or by their text when mixed."""
    try:
        return sorted(range(len(keys)), key=lambda i: keys[i])
    except TypeError:  # mixed types: order by their text, deterministically
        return sorted(range(len(keys)), key=lambda i: str(keys[i]))


def _aligned_categorical(ref: CategoricalReference, series: pd.Series) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Reference and current counts on the keys present in either, sorted (the Z-test needs the smallest first)."""
    if ref.dtype is not None and isinstance(series.dtype, pd.CategoricalDtype) and series.dtype == ref.dtype:
        codes = series.cat.codes.to_numpy()
        cur = np.bincount(codes[codes >= 0] if (codes < 0).any() else codes, minlength=len(ref.keys))
        keys, ref_counts = list(ref.keys), ref.counts
    else:
        cur_keys, cur_counts, _ = category_counts(series)
        lookup = ref.lookup()
        keys, extra = list(ref.keys), []
        cur = np.zeros(len(keys), dtype=np.int64)
        for key, count in zip(cur_keys, cur_counts):
            if key in lookup:
                cur[lookup[key]] += count
            else:
                keys.append(key)
                extra.append(count)
        ref_counts = np.append(ref.counts, np.zeros(len(extra), dtype=np.int64))
        cur = np.append(cur, np.asarray(extra, dtype=np.int64))
    present = np.flatnonzero((ref_counts + cur) > 0)
    keys = [keys[i] for i in present]
    ref_counts, cur = ref_counts[present], cur[present]
    order = key_order(keys)
    return [keys[i] for i in order], ref_counts[order], cur[order]


def _numeric_value_counts(ref: NumericReference, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ref_vals, ref_counts = ref.uniques()
    cur_vals, cur_counts = np.unique(cur, return_counts=True)
    keys = np.union1d(ref_vals, cur_vals)
    r = np.zeros(keys.size, dtype=np.int64)
    c = np.zeros(keys.size, dtype=np.int64)
    r[np.searchsorted(keys, ref_vals)] = ref_counts
    c[np.searchsorted(keys, cur_vals)] = cur_counts
    return keys, r, c


def sturges_edges(first: float, last: float, size: int, is_integer: bool) -> np.ndarray:
    """``np.histogram_bin_edges(pooled, "sturges")`` from the pooled column's range and size alone (integer
    columns keep bins at least one unit wide)."""
    width = (last - first) / (np.log2(size) + 1.0)
    if width and is_integer and width < 1:
        width = 1
    n_bins = int(np.ceil((last - first) / width)) if width else 1
    if first == last:
        first, last = first - 0.5, last + 0.5
    return np.linspace(first, last, n_bins + 1)


def _sturges_counts(ref: NumericReference, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sturges counts of the pooled column without building it."""
    edges = sturges_edges(min(ref.lo, float(cur.min())), max(ref.hi, float(cur.max())), ref.n + cur.size,
                          ref.is_integer)
    return np.histogram(ref.values, edges)[0], np.histogram(cur, edges)[0]


def _union_distinct(ref: NumericReference, cur: np.ndarray) -> tuple[int, bool]:
    """Distinct values over reference and current, and whether the count is only a lower bound.

    Counted exactly when it can decide a rule (5 or fewer in the reference) or when the reference is sorted anyway.
    """
    if ref.distinct_more_than(5):
        if ref._uniques is not None:
            return int(ref.uniques()[0].size), True
        return int(np.count_nonzero(ref.histogram())), True
    return int(np.union1d(ref.uniques()[0], np.unique(cur)).size), False


def _binned_statistic(ref: NumericReference, cur: np.ndarray, test: str) -> tuple[float, float | None]:
    """The exact KS or normed Wasserstein statistic from the fine bins (``binned``), without sorting the columns."""
    counted = binned.on_integers(ref.values, cur) if ref.integer_valued() and binned.integer_valued(cur) else None
    if counted is not None:
        distance, d = counted
    else:
        ref_bins = ref.binned()
        cur_bins = binned.cut(cur, ref_bins.lo, ref_bins.scale, ref_bins.n_bins)
        if test == "ks":
            d = binned.ks(ref_bins, cur_bins)
        else:
            distance = binned.wasserstein(ref_bins, cur_bins)
    if test == "ks":
        return stattests.ks_pvalue(d, ref.n, cur.size)
    return distance / max(ref.std, 0.001), None


def _numeric(ref: NumericReference, series: pd.Series | np.ndarray, test: stattests.StatTest, threshold: float,
             exact: bool | None) -> dict[str, Any]:
    cur = finite_values(series)
    out: dict[str, Any] = {"n_reference": ref.n, "n_current": int(cur.size), "method": "exact"}
    if test.inputs == "counts":
        if ref.distinct_more_than(MAX_BINNED_UNIQUE):
            rc, cc = _sturges_counts(ref, cur)
        else:
            _, rc, cc = _numeric_value_counts(ref, cur)
        statistic, p_value = test.func(rc, cc)
    else:
        use_bins = (exact is False or (exact is None and ref.n + cur.size > EXACT_MAX_ROWS)) and ref.hi > ref.lo \
            and np.isfinite(ref.scale())
        if use_bins and test.name in ("ks", "wasserstein"):
            statistic, p_value = _binned_statistic(ref, cur, test.name)
            out["method"] = "binned"
        else:
            statistic, p_value = test.func(ref.sorted(), np.sort(cur))
    return {**out, "statistic": statistic, "p_value": p_value,
            "drift_detected": test.drifted(statistic, p_value, threshold)}


def detect_column(ref: NumericReference | CategoricalReference, series: pd.Series | np.ndarray,
                  selection: stattests.Selection | None = None, exact: bool | None = None,
                  kind: str | None = None) -> dict[str, Any]:
    """Compare one current column with its reference.

    Args:
        ref: the column's reference from ``profile``.
        series: the current values (NaN and infinities are dropped, as Evidently does).
        selection: user overrides of the test and threshold.
        exact: True always sorts; False always screens on bins first; None decides by size.
        kind: ``numeric`` or ``categorical``; defaults to the reference's kind.

    Returns:
        ``{"feature", "kind", "test", "test_display", "threshold", "reason", "statistic", "p_value",
        "drift_detected", "method", "n_reference", "n_current", "distribution_drift_detected"}``, and when the
        row counts are known ``missing_share_reference`` / ``missing_share_current`` and ``missing_test`` (a
        two-proportion Z-test on the missing shares). ``drift_detected`` is the distribution test's flag or the
        missing-share test's. ``method`` is ``binned`` when the exact statistic was assembled from fine bins
        instead of sorted columns.
    """
    kind = kind or (NUMERIC if isinstance(ref, NumericReference) else "categorical")
    series = series if isinstance(series, pd.Series) else pd.Series(series)
    head: dict[str, Any] = {"feature": ref.name, "kind": kind}
    if isinstance(ref, NumericReference):
        cur = finite_values(series)
        n_current = int(cur.size)
        if ref.n == 0 or cur.size == 0:
            body: dict[str, Any] = {"test": None, "drift_detected": False, "statistic": None, "p_value": None,
                                    "reason": "no finite values in the " + ("reference" if ref.n == 0
                                                                            else "current data")}
        else:
            n_unique, at_least = _union_distinct(ref, cur)
            test, threshold, reason = stattests.choose(ref.name, kind, ref.n, n_unique, selection, at_least)
            body = {"test": test.name, "test_display": test.display, "threshold": threshold, "reason": reason,
                    **_numeric(ref, cur, test, threshold, exact)}
    else:
        keys, rc, cc = _aligned_categorical(ref, series)
        n_current = int(cc.sum())
        if rc.sum() == 0 or cc.sum() == 0:
            body = {"test": None, "drift_detected": False, "statistic": None, "p_value": None,
                    "reason": "no values in the " + ("reference" if rc.sum() == 0 else "current data")}
        else:
            test, threshold, reason = stattests.choose(ref.name, kind, int(rc.sum()), len(keys), selection)
            if test.inputs == "sorted":
                raise ValueError(f"Test {test.name!r} needs numbers; column {ref.name!r} is categorical.")
            statistic, p_value = test.func(rc, cc)
            body = {"test": test.name, "test_display": test.display, "threshold": threshold, "reason": reason,
                    "n_reference": int(rc.sum()), "n_current": n_current, "method": "exact",
                    "statistic": statistic, "p_value": p_value,
                    "drift_detected": test.drifted(statistic, p_value, threshold)}
    return {**head, **body, **_missing_share(ref.n, ref.n_rows, n_current, len(series), body["drift_detected"])}


def _missing_share(present_ref: int, rows_ref: int | None, present_cur: int, rows_cur: int,
                   distribution_drift: bool) -> dict[str, Any]:
    """The missing shares, their two-proportion test, and the column's verdict with it.

    The distribution tests ignore missing values (as Evidently's do); the column drifts when either the
    distribution test or the missing-share test flags it (``distribution_drift_detected`` keeps the former).
    """
    out: dict[str, Any] = {"distribution_drift_detected": distribution_drift}
    if not rows_ref or not rows_cur:
        return out
    missing_ref, missing_cur = rows_ref - present_ref, rows_cur - present_cur
    z, p_value = stattests.missing_share_test(missing_ref, rows_ref, missing_cur, rows_cur)
    flagged = p_value < stattests.MISSING_SHARE_ALPHA
    out.update({"missing_share_reference": missing_ref / rows_ref, "missing_share_current": missing_cur / rows_cur,
                "missing_test": {"test": "missing_share_z", "statistic": z, "p_value": p_value,
                                 "threshold": stattests.MISSING_SHARE_ALPHA, "drift_detected": flagged},
                "drift_detected": bool(distribution_drift or flagged)})
    return out


def detect_frame(reference: ReferenceProfile | pd.DataFrame, current: pd.DataFrame,
                 selection: stattests.Selection | None = None, exact: bool | None = None,
                 columns: list[str] | None = None) -> dict[str, Any]:
    """Per-column drift of ``current`` against ``reference``, and the dataset verdict.

    Args:
        reference: a profile (reuse it across calls) or the reference frame itself.
        current: the frame to compare; only columns present in both are tested.
        selection: user overrides of the test and threshold.
        exact: see ``detect_column``.
        columns: restrict to these columns.

    Returns:
        ``{"columns": [...], "n_drifted", "share_drifted", "dataset_drift"}``; dataset drift is declared when
        the share of drifted columns reaches ``stattests.DATASET_DRIFT_SHARE``.
    """
    prof = reference if isinstance(reference, ReferenceProfile) else profile(reference)
    names = [c for c in (columns or list(prof.columns)) if c in prof.columns and c in current.columns]
    results = [detect_column(prof.columns[n], current[n], selection, exact, prof.kinds[n]) for n in names]
    drifted = sum(bool(r["drift_detected"]) for r in results)
    share = drifted / len(results) if results else 0.0
    return {"columns": results, "n_drifted": drifted, "share_drifted": share,
            "dataset_drift": bool(results) and share >= stattests.DATASET_DRIFT_SHARE}
