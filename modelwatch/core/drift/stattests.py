"""The registry of per-column drift tests, their default thresholds, and the default choice of test per column.

The choice follows Evidently's documented defaults (``get_default_stattest``), so that users see the tests they
know and the flags agree with Evidently's on the same data:

- reference of at most 1000 rows: numeric with more than 5 distinct values -> KS; 3 to 5 -> chi-square; 2 or
  fewer -> Z-test; categorical with more than 2 categories -> chi-square, else Z-test;
- reference of more than 1000 rows: numeric with more than 5 distinct values -> Wasserstein distance normalised by
  the reference std (drift at >= 0.1); everything else -> Jensen-Shannon distance (drift at >= 0.1).

Distinct values are counted over reference and current together (as Evidently does), after NaN and infinities are
dropped. Each test takes either two sorted numeric arrays (KS, Wasserstein) or two count vectors aligned on the
same keys (chi-square, Z-test, Jensen-Shannon, PSI).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.spatial import distance

SMALL_REFERENCE_ROWS = 1000
MAX_EXACT_KS_N = 10000  # scipy's ks_2samp(method="auto") switches to the asymptotic p-value above this
DATASET_DRIFT_SHARE = 0.5
MISSING_SHARE_ALPHA = 0.05


@dataclass(frozen=True)
class StatTest:
    """A drift test: how to compute it, which way its score points, and its default threshold."""

    name: str
    display: str
    score: str  # "p_value": drift when the p-value is below the threshold; "distance": when at or above it
    default_threshold: float
    inputs: str  # "sorted" (two sorted arrays) or "counts" (two aligned count vectors)
    func: Callable[[np.ndarray, np.ndarray], tuple[float, float | None]]
    inclusive: bool = False  # for p-value tests: flag at p <= threshold (Evidently's KS) instead of p <

    def drifted(self, statistic: float, p_value: float | None, threshold: float) -> bool:
        """Apply the threshold the way Evidently does for this test."""
        if self.score == "p_value":
            if p_value is None or not np.isfinite(p_value):
                return False
            return bool(p_value <= threshold if self.inclusive else p_value < threshold)
        return bool(np.isfinite(statistic) and statistic >= threshold)


# --- tests on sorted numeric arrays --------------------------------------------------------------------------


def _merged_cdfs(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both empirical CDFs at every pooled value, from a linear merge of the two sorted inputs.

    Only the last position of a run of tied values carries the true (right-continuous) CDF values; the others are
    followed by a zero gap, so they count for nothing in the Wasserstein sum, and KS skips them explicitly.
    """
    pooled = np.concatenate([ref_sorted, cur_sorted])
    order = np.argsort(pooled, kind="stable")  # timsort: two sorted runs merge in linear time
    from_ref = order < ref_sorted.size
    dtype = np.int32 if pooled.size < 2**31 else np.int64  # int32 sums run at twice the speed
    cdf_ref = np.cumsum(from_ref, dtype=dtype) / ref_sorted.size
    cdf_cur = np.cumsum(~from_ref, dtype=dtype) / cur_sorted.size
    return pooled[order], cdf_ref, cdf_cur


def ks_pvalue(d: float, n_ref: int, n_cur: int) -> tuple[float, float]:
    """scipy's ``ks_2samp`` two-sided p-value for a statistic ``d``: exact up to 10,000 rows, else asymptotic.

    Returns:
        ``(d, p)``: in exact mode scipy rounds ``d`` to the lattice ``h / lcm(n_ref, n_cur)``, and so do we.
    """
    if max(n_ref, n_cur) <= MAX_EXACT_KS_N:
        g = math.gcd(n_ref, n_cur)
        lcm = (n_ref // g) * n_cur
        h = int(np.round(d * lcm))
        prob = _exact_ks_prob(n_ref, n_cur, h)
        if prob is not None:
            return h / lcm, float(np.clip(prob, 0, 1))
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    return d, float(np.clip(stats.kstwo.sf(d, np.round(m * n / (m + n))), 0, 1))


@functools.lru_cache(maxsize=4096)
def _exact_ks_prob(n1: int, n2: int, h: int) -> float | None:
    # D only takes lattice values, so power studies hit this cache again and again
    try:
        from scipy.stats._stats_py import _attempt_exact_2kssamp
    except ImportError:  # a scipy without the helper: fall back to the asymptotic p-value
        return None
    g = math.gcd(n1, n2)
    lcm = (n1 // g) * n2
    success, _, prob = _attempt_exact_2kssamp(n1, n2, g, h / lcm, "two-sided")
    return float(prob) if success else None


def ks_test(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[float, float | None]:
    """Two-sample Kolmogorov-Smirnov: the statistic D and scipy's two-sided p-value."""
    values, cdf_ref, cdf_cur = _merged_cdfs(ref_sorted, cur_sorted)
    last_of_tie = np.append(values[1:] != values[:-1], True)
    d = float(np.max(np.abs(cdf_ref - cdf_cur)[last_of_tie]))
    return ks_pvalue(d, ref_sorted.size, cur_sorted.size)


def wasserstein_test(ref_sorted: np.ndarray, cur_sorted: np.ndarray) -> tuple[float, float | None]:
    """First Wasserstein distance divided by the reference's std (floored at 0.001, as Evidently does)."""
    values, cdf_ref, cdf_cur = _merged_cdfs(ref_sorted, cur_sorted)
    distance_ = float(np.sum(np.abs(cdf_ref[:-1] - cdf_cur[:-1]) * np.diff(values)))
    return distance_ / max(float(np.std(ref_sorted)), 0.001), None


# --- tests on aligned count vectors ---------------------------------------------------------------------------


def fill_zeroes(percents: np.ndarray) -> np.ndarray:
    """Evidently's ``feel_zeroes``: empty bins get a small share so that logarithms stay finite."""
    out = percents.astype(float).copy()
    nonzero = out[out != 0]
    if nonzero.size and nonzero.size < out.size:
        smallest = float(nonzero.min())
        out[out == 0] = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    return out


def psi_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float | None]:
    """Population stability index, sum((r - c) * ln(r / c)) over shares with empty bins filled."""
    r = fill_zeroes(ref_counts / ref_counts.sum())
    c = fill_zeroes(cur_counts / cur_counts.sum())
    return float(np.sum((r - c) * np.log(r / c))), None


def jensenshannon_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float | None]:
    """Jensen-Shannon distance (natural log) between the two share vectors."""
    return float(distance.jensenshannon(ref_counts / ref_counts.sum(), cur_counts / cur_counts.sum())), None


def chisquare_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float | None]:
    """Goodness of fit of the current counts to the reference shares (Evidently's chi-square)."""
    expected = ref_counts * (cur_counts.sum() / ref_counts.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        res = stats.chisquare(cur_counts.astype(float), expected.astype(float))
    return float(res.statistic), float(res.pvalue)


def chi2_contingency_test(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float | None]:
    """Two-sample chi-square test of homogeneity (scipy's ``chi2_contingency`` on the 2 x k table).

    Unlike Evidently's goodness-of-fit chi-square, it treats the reference as a sample too, so its false-positive
    rate stays at the threshold when both sides are samples of the same size.
    """
    if ref_counts.size < 2:
        return 0.0, 1.0
    res = stats.chi2_contingency(np.vstack([ref_counts, cur_counts]), correction=False)
    return float(res.statistic), float(res.pvalue)


def ztest(ref_counts: np.ndarray, cur_counts: np.ndarray) -> tuple[float, float | None]:
    """Z-test for two proportions: the share of rows that are not the first key, reference against current.

    Keys must be sorted (the first key is the smallest value, as in Evidently).
    """
    n1, n2 = float(ref_counts.sum()), float(cur_counts.sum())
    if ref_counts.size <= 1 or (np.count_nonzero(ref_counts) == 1 and np.count_nonzero(cur_counts) == 1
                                and np.argmax(ref_counts) == np.argmax(cur_counts)):
        return 0.0, 1.0
    p1, p2 = 1 - ref_counts[0] / n1, 1 - cur_counts[0] / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(z), float(2 * stats.norm.sf(abs(z)))


def missing_share_test(missing_ref: int, rows_ref: int, missing_cur: int, rows_cur: int) -> tuple[float, float]:
    """Two-proportion Z-test (pooled variance) on the share of missing values: ``(z, two-sided p-value)``.

    The distribution tests drop missing values first, so this is the test that sees a column going empty.
    """
    p1, p2 = missing_ref / rows_ref, missing_cur / rows_cur
    pooled = (missing_ref + missing_cur) / (rows_ref + rows_cur)
    if pooled in (0.0, 1.0):
        return 0.0, 1.0
    z = (p2 - p1) / math.sqrt(pooled * (1 - pooled) * (1 / rows_ref + 1 / rows_cur))
    return float(z), float(2 * stats.norm.sf(abs(z)))


REGISTRY: dict[str, StatTest] = {t.name: t for t in (
    StatTest("ks", "Kolmogorov-Smirnov p-value", "p_value", 0.05, "sorted", ks_test, inclusive=True),
    StatTest("wasserstein", "Wasserstein distance (normalised by reference std)", "distance", 0.1, "sorted",
             wasserstein_test),
    StatTest("psi", "Population stability index", "distance", 0.1, "counts", psi_test),
    StatTest("jensenshannon", "Jensen-Shannon distance", "distance", 0.1, "counts", jensenshannon_test),
    StatTest("chisquare", "Chi-square p-value", "p_value", 0.05, "counts", chisquare_test),
    StatTest("z", "Z-test for proportions p-value", "p_value", 0.05, "counts", ztest),
    StatTest("chi2_contingency", "Chi-square test of homogeneity p-value", "p_value", 0.05, "counts",
             chi2_contingency_test),
)}


# --- which test for which column ------------------------------------------------------------------------------


@dataclass
class Selection:
    """User overrides: a test name (and optionally a threshold) for every column, per type, or per column.

    Keys of ``tests`` and ``thresholds``: ``"all"``, ``"numeric"``, ``"categorical"`` or a column name; a column
    name wins over its type, which wins over ``"all"``.
    """

    tests: dict[str, str] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_config(cls, drift_config: dict | None) -> Selection:
        """Read ``config.drift.tests`` / ``config.drift.test_thresholds`` (both optional)."""
        drift_config = drift_config or {}
        tests = dict(drift_config.get("tests") or {})
        unknown = sorted({v for v in tests.values() if v not in REGISTRY})
        if unknown:
            raise ValueError(f"Unknown drift test(s) {', '.join(unknown)}; known: {', '.join(REGISTRY)}.")
        thresholds = {k: float(v) for k, v in (drift_config.get("test_thresholds") or {}).items()}
        return cls(tests=tests, thresholds=thresholds)

    def pins(self, column: str, kind: str) -> bool:
        """Whether the column's test is set, so that it does not depend on the data."""
        return self._pick(self.tests, column, kind) is not None

    def _pick(self, table: dict, column: str, kind: str) -> tuple[object, str] | None:
        for key, why in ((column, f"set for column {column!r}"), (kind, f"set for {kind} columns"),
                         ("all", "set for all columns")):
            if key in table:
                return table[key], why
        return None


def default_test(n_ref: int, n_unique: int, kind: str, at_least: bool = False) -> tuple[str, str]:
    """Evidently's default test for a column, and the reason in words.

    Args:
        n_ref: reference rows after NaN and infinities are dropped.
        n_unique: distinct values in reference and current together.
        kind: ``"numeric"`` or ``"categorical"`` (bool columns are categorical).
        at_least: ``n_unique`` is only a lower bound (the reference was not sorted to count them all).
    """
    size = f"reference has {n_ref} rows"
    values = f"{'at least ' if at_least else ''}{n_unique} distinct values"
    if n_ref <= SMALL_REFERENCE_ROWS:
        size += f" (<= {SMALL_REFERENCE_ROWS})"
        if kind == "numeric" and n_unique > 5:
            return "ks", f"{size}, numeric with {values} (> 5): Kolmogorov-Smirnov"
        if n_unique > 2:
            return "chisquare", f"{size}, {kind} with {values} (> 2): chi-square"
        return "z", f"{size}, {kind} with {values} (<= 2): Z-test for proportions"
    size += f" (> {SMALL_REFERENCE_ROWS})"
    if kind == "numeric" and n_unique > 5:
        return "wasserstein", f"{size}, numeric with {values} (> 5): normalised Wasserstein distance"
    return "jensenshannon", f"{size}, {kind} with {values}: Jensen-Shannon distance"


def choose(column: str, kind: str, n_ref: int, n_unique: int, selection: Selection | None = None,
           at_least: bool = False) -> tuple[StatTest, float, str]:
    """The test, its threshold and the reason for one column, with the user's overrides applied."""
    picked = selection._pick(selection.tests, column, kind) if selection else None
    if picked:
        test, reason = REGISTRY[str(picked[0])], f"{picked[0]} {picked[1]}"
    else:
        name, reason = default_test(n_ref, n_unique, kind, at_least)
        test = REGISTRY[name]
    threshold = test.default_threshold
    chosen = selection._pick(selection.thresholds, column, kind) if selection else None
    if chosen:
        threshold = float(chosen[0])  # type: ignore[arg-type]
        reason += f"; threshold {threshold:g} {chosen[1]}"
    return test, threshold, reason
