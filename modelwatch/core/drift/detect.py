"""Fast per-column drift detection against a reference profile, with the same verdicts as the exact tests.

Numeric columns under the KS and Wasserstein tests: up to ``EXACT_MAX_ROWS`` rows (reference + current) both are
sorted (the reference once, cached) and the statistic is exact. Above it, both columns are binned on fine uniform
bins cut from the cached reference range; the bins give a lower and an upper bound on the statistic, and only when
the threshold falls between them is the current column sorted for the exact value. The verdict is therefore always
the exact test's. Count-based tests (chi-square, Z, Jensen-Shannon, PSI) are linear: categoricals are counted from
integer codes, never re-hashed when the column has a categorical dtype.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.drift import stattests
from modelwatch.core.drift.profile import (
    BINS,
    NUMERIC,
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    bin_index,
    category_counts,
    finite_values,
    profile,
)

EXACT_MAX_ROWS = 50_000
MAX_BINNED_UNIQUE = 20  # Evidently's get_binned_data: numeric columns with more distinct values use Sturges bins


def _key_order(keys: list[Any]) -> list[int]:
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
    order = _key_order(keys)
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


def _sturges_counts(ref: NumericReference, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.histogram_bin_edges(concat(ref, cur), "sturges")`` without building the pooled column."""
    first, last = min(ref.lo, float(cur.min())), max(ref.hi, float(cur.max()))
    size = ref.n + cur.size
    width = (last - first) / (np.log2(size) + 1.0)
    if width and ref.is_integer and width < 1:
        width = 1
    n_bins = int(np.ceil((last - first) / width)) if width else 1
    if first == last:
        first, last = first - 0.5, last + 0.5
    edges = np.linspace(first, last, n_bins + 1)
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


def _binned_bounds(ref: NumericReference, cur: np.ndarray, test: str) -> tuple[float, float, float]:
    """Lower and upper bounds on the statistic from the two histograms, and the rounding slack to allow."""
    lo, hi, scale = ref.lo, ref.hi, ref.scale()
    cur_lo, cur_hi = float(cur.min()), float(cur.max())
    c_ref = np.concatenate([[0.0], np.cumsum(ref.histogram())]) / ref.n
    c_cur = np.concatenate([[0.0], np.cumsum(np.bincount(bin_index(cur, lo, scale), minlength=BINS + 2))]) / cur.size
    # the CDFs at the left edge of each bin are exact; inside a bin each can only rise from its left to its right value
    upper_gap = np.maximum(c_ref[1:] - c_cur[:-1], c_cur[1:] - c_ref[:-1])
    lower_gap = np.maximum(0.0, np.maximum(c_ref[:-1] - c_cur[1:], c_cur[:-1] - c_ref[1:]))
    slack = 1e-9 + 1e-10 * max(abs(lo), abs(hi), abs(cur_lo), abs(cur_hi)) / max(ref.std, 1e-300)
    if test == "ks":
        return float(np.max(np.abs(c_ref - c_cur))), float(np.max(upper_gap)), 1e-9
    edges = np.concatenate([[min(lo, cur_lo)], lo + np.arange(BINS + 1) / scale, [max(hi, cur_hi)]])
    edges[-2] = hi
    widths = np.diff(edges)
    norm = max(ref.std, 0.001)
    return float(lower_gap @ widths) / norm, float(upper_gap @ widths) / norm, slack


def _decided(test: stattests.StatTest, low: float, high: float, threshold: float, n_ref: int, n_cur: int,
             slack: float) -> bool | None:
    """The verdict when both bounds agree on it, else None."""
    if test.name == "ks":
        p_at_high = stattests.ks_pvalue(high + slack, n_ref, n_cur)[1]
        p_at_low = stattests.ks_pvalue(max(low - slack, 0.0), n_ref, n_cur)[1]
        if p_at_low <= threshold:
            return True
        return False if p_at_high > threshold else None
    if low - slack >= threshold:
        return True
    return False if high + slack < threshold else None


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
        use_bins = (exact is False or (exact is None and ref.n + cur.size > EXACT_MAX_ROWS)) and ref.hi > ref.lo
        if use_bins:
            low, high, slack = _binned_bounds(ref, cur, test.name)
            verdict = _decided(test, low, high, threshold, ref.n, cur.size, slack)
            if verdict is not None:
                statistic = (low + high) / 2
                p_value = stattests.ks_pvalue(statistic, ref.n, cur.size)[1] if test.name == "ks" else None
                return {**out, "method": "binned", "statistic": statistic, "statistic_bounds": [low, high],
                        "p_value": p_value, "drift_detected": verdict}
            out["method"] = "exact after binned bounds straddled the threshold"
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
        "drift_detected", "method", "n_reference", "n_current"}`` (binned results add ``statistic_bounds``).
    """
    kind = kind or (NUMERIC if isinstance(ref, NumericReference) else "categorical")
    head = {"feature": ref.name, "kind": kind}
    if isinstance(ref, NumericReference):
        cur = finite_values(series)
        if ref.n == 0 or cur.size == 0:
            return {**head, "test": None, "drift_detected": False, "statistic": None, "p_value": None,
                    "reason": "no finite values in the " + ("reference" if ref.n == 0 else "current data")}
        n_unique, at_least = _union_distinct(ref, cur)
        test, threshold, reason = stattests.choose(ref.name, kind, ref.n, n_unique, selection, at_least)
        body = _numeric(ref, cur, test, threshold, exact)
    else:
        keys, rc, cc = _aligned_categorical(ref, series if isinstance(series, pd.Series) else pd.Series(series))
        if rc.sum() == 0 or cc.sum() == 0:
            return {**head, "test": None, "drift_detected": False, "statistic": None, "p_value": None,
                    "reason": "no values in the " + ("reference" if rc.sum() == 0 else "current data")}
        test, threshold, reason = stattests.choose(ref.name, kind, int(rc.sum()), len(keys), selection)
        if test.inputs == "sorted":
            raise ValueError(f"Test {test.name!r} needs numbers; column {ref.name!r} is categorical.")
        statistic, p_value = test.func(rc, cc)
        body = {"n_reference": int(rc.sum()), "n_current": int(cc.sum()), "method": "exact",
                "statistic": statistic, "p_value": p_value,
                "drift_detected": test.drifted(statistic, p_value, threshold)}
    # the tests ignore missing values (as Evidently's do): report their shares so a jump is still visible
    if ref.n_rows:
        body["missing_share_reference"] = 1 - body["n_reference"] / ref.n_rows
    if len(series):
        body["missing_share_current"] = 1 - body["n_current"] / len(series)
    return {**head, "test": test.name, "test_display": test.display, "threshold": threshold, "reason": reason, **body}


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
