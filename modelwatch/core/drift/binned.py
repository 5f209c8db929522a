"""Exact Wasserstein and KS statistics of large columns without sorting them.

Both columns are cut on the reference's fine uniform bins (``bins_for``, plus one below and one above its range), in bin
units ``t = (v - lo) * scale`` so that every value's bin is ``floor(t) + 1`` exactly. Per bin, the counts and the
sum of ``t`` give each empirical CDF at the bin's left edge and its integral over the bin. Where one CDF stays
above the other across a whole bin, ``|F_ref - F_cur|`` integrates from those sums alone; only the values of the
bins where the two CDFs can cross (Wasserstein) or where the KS maximum can lie are sorted. The result is the
statistic itself (up to float rounding), not a bound.

Integer-valued columns put all their values on a few points, where both CDFs jump at once: bins cannot separate
them, so those columns are counted on the integers instead (``on_integers``), which is exact and linear.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

MIN_BINS, MAX_BINS = 1 << 13, 1 << 18  # about four reference values per bin, within these limits
MAX_INTEGER_SPAN = 1 << 20  # integer columns spanning more values than this go through the bins


def bins_for(n: int) -> int:
    """The number of fine bins for a reference of ``n`` values: a power of two near ``n / 4``."""
    return int(np.clip(1 << max(int(np.ceil(np.log2(max(n, 1) / 4))), 0), MIN_BINS, MAX_BINS))


@nb.njit(nogil=True)
def _bin(value, lo, scale, n_bins):  # noqa: ANN001, ANN202
    t = (value - lo) * scale
    return t, int(min(max(np.floor(t), -1.0), float(n_bins))) + 1


@nb.njit(nogil=True)
def _count(values, lo, scale, n_bins, counts, sums):  # noqa: ANN001, ANN202
    for value in values:
        t, b = _bin(value, lo, scale, n_bins)
        counts[b] += 1
        sums[b] += t


@nb.njit(nogil=True)
def _pick(values, lo, scale, n_bins, chosen, out):  # noqa: ANN001, ANN202
    k = 0
    for value in values:
        t, b = _bin(value, lo, scale, n_bins)
        if chosen[b]:
            out[k] = t
            k += 1


@dataclass
class Binned:
    """One column cut on the reference's bins: bin 0 below the range, 1..n_bins inside, n_bins + 1 at or above."""

    values: np.ndarray
    lo: float
    scale: float
    n_bins: int
    counts: np.ndarray  # values per bin
    sums: np.ndarray  # sum of t per bin
    t_min: float
    t_max: float

    def cdf_at_edges(self) -> np.ndarray:
        """The share of values in the bins before each bin (``n_bins + 3`` entries, from 0 to 1)."""
        return np.concatenate([[0.0], np.cumsum(self.counts)]) / self.values.size

    def t_of(self, chosen: np.ndarray) -> np.ndarray:
        """``t`` of the values in the ``chosen`` bins, in the order of the values."""
        out = np.empty(int(self.counts[chosen].sum()))
        _pick(self.values, self.lo, self.scale, self.n_bins, chosen, out)
        return out


def cut(values: np.ndarray, lo: float, scale: float, n_bins: int) -> Binned:
    """Bin ``values`` (finite floats) on ``n_bins`` bins that start at ``lo``, ``scale`` bins per unit.

    One compiled pass: the value's position ``t = (v - lo) * scale``, its bin ``floor(t) + 1`` (clipped to the
    outer bins), and per bin the count and the sum of ``t``.
    """
    counts, sums = np.zeros(n_bins + 2, dtype=np.int64), np.zeros(n_bins + 2)
    _count(values, float(lo), float(scale), n_bins, counts, sums)
    # the extremes only matter when values fall outside the range (the outer bins' far edges)
    t_min = (float(values.min()) - lo) * scale if counts[0] else 0.0
    t_max = (float(values.max()) - lo) * scale if counts[-1] else float(n_bins)
    return Binned(values, float(lo), float(scale), n_bins, counts, sums, t_min, t_max)


@nb.njit(nogil=True)
def _signed_bins(ref_counts, ref_sums, cur_counts, cur_sums, n_ref, n_cur,  # noqa: ANN001, ANN202
                 left_0, right_top, crossing):
    """The integral of |F_ref - F_cur| over the bins where one CDF stays above the other; marks the others."""
    total, seen_ref, seen_cur = 0.0, 0, 0
    top = ref_counts.size - 1
    for b in range(ref_counts.size):
        left = left_0 if b == 0 else b - 1.0
        right = 0.0 if b == 0 else right_top if b == top else float(b)
        r0, c0 = seen_ref / n_ref, seen_cur / n_cur
        r1, c1 = (seen_ref + ref_counts[b]) / n_ref, (seen_cur + cur_counts[b]) / n_cur
        # the integral of a CDF over the bin: its left-edge value times the width, plus each value's share of it
        part = (right - left) * (r0 - c0) + (ref_counts[b] * right - ref_sums[b]) / n_ref \
            - (cur_counts[b] * right - cur_sums[b]) / n_cur
        if r0 >= c1:
            total += part
        elif c0 >= r1:
            total -= part
        else:
            crossing[b] = True
        seen_ref += ref_counts[b]
        seen_cur += cur_counts[b]
    return total


@nb.njit(nogil=True)
def _walk(r, c, chosen, ref_counts, cur_counts, n_ref, n_cur, left_0, right_top):  # noqa: ANN001, ANN202
    """Merge the sorted values of the chosen bins: the integral of |F_ref - F_cur| there, and its largest value."""
    total, largest, i, j, seen_ref, seen_cur = 0.0, 0.0, 0, 0, 0, 0
    top = ref_counts.size - 1
    for b in range(ref_counts.size):
        if not chosen[b]:
            seen_ref += ref_counts[b]
            seen_cur += cur_counts[b]
            continue
        x = left_0 if b == 0 else b - 1.0
        end_r, end_c = i + ref_counts[b], j + cur_counts[b]  # this bin's values: r[i:end_r], c[j:end_c]
        while i < end_r or j < end_c:
            v = min(r[i] if i < end_r else np.inf, c[j] if j < end_c else np.inf)
            total += abs(seen_ref / n_ref - seen_cur / n_cur) * (v - x)
            while i < end_r and r[i] == v:
                seen_ref += 1
                i += 1
            while j < end_c and c[j] == v:
                seen_cur += 1
                j += 1
            largest = max(largest, abs(seen_ref / n_ref - seen_cur / n_cur))
            x = v
        right = 0.0 if b == 0 else right_top if b == top else float(b)
        total += abs(seen_ref / n_ref - seen_cur / n_cur) * (right - x)
    return total, largest


KERNELS = (_bin, _count, _pick, _signed_bins, _walk)  # compiled ahead and kept on disk by ``core.warm``


def _outer_edges(ref: Binned, cur: Binned) -> tuple[float, float]:
    """The left edge of the bin below the range and the right edge of the bin above it, in bin units."""
    return min(0.0, ref.t_min, cur.t_min), max(float(ref.n_bins), ref.t_max, cur.t_max)


def _walk_chosen(ref: Binned, cur: Binned, chosen: np.ndarray) -> tuple[float, float]:
    left_0, right_top = _outer_edges(ref, cur)
    return _walk(np.sort(ref.t_of(chosen)), np.sort(cur.t_of(chosen)), chosen, ref.counts, cur.counts,
                 ref.values.size, cur.values.size, left_0, right_top)


def wasserstein(ref: Binned, cur: Binned) -> float:
    """The first Wasserstein distance between the two columns (not normalised)."""
    crossing = np.zeros(ref.counts.size, dtype=np.bool_)
    total = _signed_bins(ref.counts, ref.sums, cur.counts, cur.sums, ref.values.size, cur.values.size,
                         *_outer_edges(ref, cur), crossing)
    if crossing.any():
        total += _walk_chosen(ref, cur, crossing)[0]
    return total / ref.scale


def ks(ref: Binned, cur: Binned) -> float:
    """The two-sample Kolmogorov-Smirnov statistic D (scipy's ``ks_2samp``)."""
    c_ref, c_cur = ref.cdf_at_edges(), cur.cdf_at_edges()
    at_edges = float(np.max(np.abs(c_ref - c_cur)))
    # inside a bin each CDF only rises from its left-edge to its right-edge value: only bins that can beat the
    # edges are looked into
    reach = np.maximum(c_ref[1:] - c_cur[:-1], c_cur[1:] - c_ref[:-1])
    chosen = reach > at_edges
    if not chosen.any():
        return at_edges
    return max(at_edges, _walk_chosen(ref, cur, chosen)[1])


def integer_valued(values: np.ndarray) -> bool:
    """Whether every value is a whole number (the first thousand values usually settle a "no" at once)."""
    head = values[:1000]
    if not np.array_equal(np.floor(head), head):
        return False
    return bool(values.size) and bool(np.array_equal(np.floor(values), values))


def on_integers(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float] | None:
    """``(W, D)`` of two integer-valued columns from their counts per integer; None when the span is too wide."""
    first = min(float(ref.min()), float(cur.min()))
    span = max(float(ref.max()), float(cur.max())) - first + 1
    if span > MAX_INTEGER_SPAN:
        return None
    size = int(span)
    f_ref = np.cumsum(np.bincount((ref - first).astype(np.int64), minlength=size)) / ref.size
    f_cur = np.cumsum(np.bincount((cur - first).astype(np.int64), minlength=size)) / cur.size
    gap = np.abs(f_ref - f_cur)
    return float(gap[:-1].sum()), float(gap.max())

