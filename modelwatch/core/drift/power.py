"""Detector power: how often the chosen test flags a scenario on samples of the reference's size.

Power is estimated by resampling rows the section already has (``resampled_power``, what the Result reports): the
scenario is applied once, to the reference rows (the frame whose predictions give the impact), and each resample
draws a reference sample from the reference rows and a current sample from the drifted rows, both of the
reference's size, with replacement (all columns of a row together). Share-based kinds (``scenarios.SHARE_KINDS``)
set a fixed number of a sample's rows: their current samples hold exactly that many drifted values, the rest
drawn from the reference rows, which is the scenario applied to a bootstrap sample. Each column is encoded once as
integer codes over the values of both frames (numbers in order, categories in the tests' key order, one code for
missing), so a resample is a row of counts and every statistic comes from counts: KS and Wasserstein from the two
cumulative counts, vectorised over the resamples; count tests (chi-square, Z, Jensen-Shannon, PSI) call the
registered function on the counts of the keys present. The test, its threshold and the missing-share test are
detection's (``detect.detect_column``), and so are the flags on the same samples.

``detection_power`` is the definition the resampled estimate is checked against: it regenerates the scenario on
every resample (the scenario applied to a bootstrap sample of the reference) and runs ``detect_column`` on it.
The two differ where a scenario's parameters come from the sample it is applied to: regenerated, a shift or a
scale uses each sample's own std and mean, and a category shift each sample's rarest category; resampled, those
of the reference rows, as a current sample drawn from a drifted population would. The tests bound the difference
by the Monte-Carlo error on their scenarios. At severity 0 both are the same procedure, and the share of flagged
resamples is the false-positive rate. Either way a power is a share of a few resamples (20 by default), so each
comes with its exact (Clopper-Pearson) 95% interval (``power_interval``).
"""
from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from modelwatch.core.drift import scenarios, stattests
from modelwatch.core.drift.detect import MAX_BINNED_UNIQUE, detect_column, detect_frame, key_order, sturges_edges
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

MAX_CELLS = 2_000_000  # resamples x rows (or x distinct values) held at once; more resamples go in chunks
POWER_CONFIDENCE = 0.95


def power_interval(hits: int, n: int) -> list[float] | None:
    """The exact (Clopper-Pearson) 95% interval of a power measured as ``hits`` flagged resamples of ``n``.

    With 20 resamples a power of 50% is known to about ±23 points: the interval says how far to trust it.
    None when no resample ran.
    """
    return list(_clopper_pearson(hits, n)) if n > 0 else None


@functools.lru_cache(maxsize=4096)
def _clopper_pearson(hits: int, n: int) -> tuple[float, float]:
    """Cached by counts (a section asks for the same few hundred): a tuple, so no caller can change the cache."""
    interval = stats.binomtest(hits, n).proportion_ci(confidence_level=POWER_CONFIDENCE, method="exact")
    return float(interval.low), float(interval.high)


def _measured(hits: int, n: int, test: str | None) -> dict[str, Any]:
    """A power's fields: the share of flagged resamples, how many ran, its interval and the test."""
    return {"power": hits / n if n else None, "n_resamples": n, "interval": power_interval(hits, n), "test": test}


@dataclass
class ResampledColumn:
    """One column of the reference and of the drifted rows as codes into ``values`` (``len(values)``: missing)."""

    name: str
    kind: str
    values: np.ndarray  # numeric: the distinct finite values, sorted; categorical: the keys in the tests' order
    ref_codes: np.ndarray
    cur_codes: np.ndarray
    is_integer: bool  # an integer dtype (Sturges bins of width 1 at least, as in detection)
    mixed_keys: bool  # categorical keys that only sort by their text: each resample sorts its own keys again

    @property
    def size(self) -> int:
        return self.values.size + 1


def encode_column(name: str, kind: str, reference: pd.Series, drifted: pd.Series) -> ResampledColumn:
    """One column of the reference and of the drifted rows as codes into their pooled values, once per scenario."""
    if kind == NUMERIC:
        pooled = np.concatenate([reference.to_numpy(dtype=np.float64, na_value=np.nan),
                                 drifted.to_numpy(dtype=np.float64, na_value=np.nan)])
        finite = np.isfinite(pooled)  # NaN and infinities are dropped by the tests: both count as missing
        values, inverse = np.unique(pooled[finite], return_inverse=True)
        codes = np.full(pooled.size, values.size, dtype=np.int64)
        codes[finite] = inverse
        mixed = False
    else:
        factor, keys = pd.factorize(pd.concat([reference.astype(object), drifted.astype(object)], ignore_index=True))
        order = key_order(list(keys))
        rank = np.empty(len(keys) + 1, dtype=np.int64)
        rank[order] = np.arange(len(keys))
        rank[-1] = len(keys)  # factorize's -1 (missing) lands on the last code
        codes = rank[factor]
        values = np.empty(len(keys), dtype=object)
        values[:] = [keys[i] for i in order]
        mixed = _unsortable(list(keys))
    return ResampledColumn(name, kind, values, codes[:len(reference)], codes[len(reference):],
                           pd.api.types.is_integer_dtype(reference), mixed)


def _unsortable(keys: list[Any]) -> bool:
    try:
        sorted(keys)
    except TypeError:
        return True
    return False


def _counts(codes: np.ndarray, rows: np.ndarray, size: int) -> np.ndarray:
    """Per resample (a row of ``rows``), how many of its rows have each code: a (resamples, size) matrix."""
    offsets = np.arange(rows.shape[0])[:, None] * size
    return np.bincount((codes[rows] + offsets).ravel(), minlength=rows.shape[0] * size).reshape(rows.shape[0], size)


def _missing_flags(n_ref: np.ndarray, rows_ref: int, n_cur: np.ndarray, rows_cur: int) -> np.ndarray:
    """The missing-share test of detection on each resample (one call per distinct pair of missing counts)."""
    missing = (rows_ref - n_ref) * (rows_cur + 1) + (rows_cur - n_cur)
    if not missing.any():  # nothing missing on either side: the test cannot flag
        return np.zeros(missing.size, dtype=bool)
    pairs, inverse = np.unique(missing, return_inverse=True)
    flagged = np.array([stattests.missing_share_test(int(p) // (rows_cur + 1), rows_ref, int(p) % (rows_cur + 1),
                                                     rows_cur)[1] < stattests.MISSING_SHARE_ALPHA for p in pairs])
    return flagged[inverse]


def _ks_flags(col: ResampledColumn, rc: np.ndarray, cc: np.ndarray, n_r: np.ndarray, n_c: np.ndarray,
              test: stattests.StatTest, threshold: float) -> np.ndarray:
    gap = np.abs(np.cumsum(rc, axis=1) / n_r[:, None] - np.cumsum(cc, axis=1) / n_c[:, None])
    lcm = np.lcm(n_r, n_c)
    h = np.round(gap.max(axis=1) * lcm).astype(np.int64)  # D sits on the lattice h / lcm(n_ref, n_cur)
    if n_r.min() == n_r.max() and n_c.min() == n_c.max():
        return h >= _ks_critical(test, threshold, int(n_r[0]), int(n_c[0]))
    return np.array([h[b] >= _ks_critical(test, threshold, int(n_r[b]), int(n_c[b])) for b in range(h.size)])


@functools.lru_cache(maxsize=4096)
def _ks_critical(test: stattests.StatTest, threshold: float, n_ref: int, n_cur: int) -> int:
    """The smallest lattice step ``h`` (D = h / lcm) the KS test flags at these sizes (``lcm + 1``: none).

    The p-value falls as D grows, so the step is found by bisection, in a few p-values, once per sizes.
    """
    lcm = int(np.lcm(n_ref, n_cur))
    low, high = 0, lcm + 1
    while low < high:
        middle = (low + high) // 2
        if test.drifted(*stattests.ks_pvalue(middle / lcm, n_ref, n_cur), threshold):
            high = middle
        else:
            low = middle + 1
    return low


def _wasserstein_flags(col: ResampledColumn, rc: np.ndarray, cc: np.ndarray, n_r: np.ndarray, n_c: np.ndarray,
                       test: stattests.StatTest, threshold: float) -> np.ndarray:
    values = col.values.astype(np.float64)
    gap = np.abs(np.cumsum(rc, axis=1) / n_r[:, None] - np.cumsum(cc, axis=1) / n_c[:, None])
    distance = (gap[:, :-1] * np.diff(values)).sum(axis=1)
    mean = rc @ values / n_r
    std = np.sqrt((rc * (values - mean[:, None]) ** 2).sum(axis=1) / n_r)
    statistic = distance / np.maximum(std, 0.001)
    return np.isfinite(statistic) & (statistic >= threshold)  # ``test.drifted`` of a distance


def _sturges(col: ResampledColumn, rc: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``detect._sturges_counts`` on one resample's counts: bins over both samples' range, Sturges' number."""
    present = np.flatnonzero(rc + cc)
    edges = sturges_edges(float(col.values[present[0]]), float(col.values[present[-1]]), int(rc.sum() + cc.sum()),
                          col.is_integer)
    return (np.histogram(col.values, edges, weights=rc)[0].astype(np.int64),
            np.histogram(col.values, edges, weights=cc)[0].astype(np.int64))


def _chisquare(rc: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``stattests.chisquare_test`` of every resample at once (keys absent from both sides left out)."""
    present = (rc + cc) > 0
    expected = rc * (cc.sum(axis=1, keepdims=True) / rc.sum(axis=1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        statistic = np.where(present, (cc - expected) ** 2 / expected, 0.0).sum(axis=1)
        return statistic, stats.chi2.sf(statistic, present.sum(axis=1) - 1)


def _jensenshannon(rc: np.ndarray, cc: np.ndarray) -> tuple[np.ndarray, None]:
    """``stattests.jensenshannon_test`` of every resample at once (absent keys add nothing)."""
    p, q = rc / rc.sum(axis=1, keepdims=True), cc / cc.sum(axis=1, keepdims=True)
    m = (p + q) / 2.0
    return np.sqrt((special.rel_entr(p, m).sum(axis=1) + special.rel_entr(q, m).sum(axis=1)) / 2), None


COUNTS_VECTORISED = {"chisquare": _chisquare, "jensenshannon": _jensenshannon}  # tests blind to the keys' order


def _drifted(test: stattests.StatTest, statistic: np.ndarray, p_value: np.ndarray | None,
             threshold: float) -> np.ndarray:
    """``test.drifted`` of arrays."""
    if test.score == "p_value":
        finite = np.isfinite(p_value)
        return finite & ((p_value <= threshold) if test.inclusive else (p_value < threshold))
    return np.isfinite(statistic) & (statistic >= threshold)


def _count_test_flags(col: ResampledColumn, rc: np.ndarray, cc: np.ndarray, test: stattests.StatTest,
                      threshold: float) -> np.ndarray:
    """Count tests on the counts detection would pass them: vectorised on value counts where the test allows."""
    binned = np.count_nonzero(rc, axis=1) > MAX_BINNED_UNIQUE if col.kind == NUMERIC else np.zeros(len(rc), bool)
    flags = np.zeros(rc.shape[0], dtype=bool)
    one_by_one = binned | (test.name not in COUNTS_VECTORISED)
    if not one_by_one.all():
        at_once = ~one_by_one
        flags[at_once] = _drifted(test, *COUNTS_VECTORISED[test.name](rc[at_once], cc[at_once]), threshold)
    for b in np.flatnonzero(one_by_one):
        r, c = rc[b], cc[b]
        if binned[b]:
            r, c = _sturges(col, r, c)
        else:
            keep = np.flatnonzero(r + c)
            if col.mixed_keys:
                keep = keep[key_order([col.values[i] for i in keep])]
            r, c = r[keep], c[keep]
        flags[b] = test.drifted(*test.func(r, c), threshold)
    return flags


VECTORISED = {"ks": _ks_flags, "wasserstein": _wasserstein_flags}


def column_flags(col: ResampledColumn, ref_rows: np.ndarray, cur_rows: np.ndarray,
                 selection: Selection | None) -> tuple[np.ndarray, str | None]:
    """Detection's verdict on each resample of one column, and the test it used (the last one when several).

    Args:
        col: the column's codes (``encode_column``).
        ref_rows: one resample per row: positions in the reference rows.
        cur_rows: one resample per row: positions in the drifted rows.
        selection: the tests and thresholds, as in detection.

    Returns:
        ``detect_column(...)["drift_detected"]`` of each resample (reference sample against current sample),
        computed from counts, and the test's name (None when no resample had values on both sides).
    """
    counts_ref, counts_cur = _counts(col.ref_codes, ref_rows, col.size), _counts(col.cur_codes, cur_rows, col.size)
    rc, cc = counts_ref[:, :-1], counts_cur[:, :-1]
    n_r, n_c = rc.sum(axis=1), cc.sum(axis=1)
    flags = _missing_flags(n_r, ref_rows.shape[1], n_c, cur_rows.shape[1])
    tested = np.flatnonzero((n_r > 0) & (n_c > 0))
    test_name = None
    for (test, threshold, _), members in _choices(col, rc[tested], cc[tested], n_r[tested], tested, selection):
        if col.kind != NUMERIC and test.inputs == "sorted":
            raise ValueError(f"Test {test.name!r} needs numbers; column {col.name!r} is categorical.")
        if col.kind == NUMERIC and test.name in VECTORISED:
            hit = VECTORISED[test.name](col, rc[members], cc[members], n_r[members], n_c[members], test, threshold)
        else:
            hit = _count_test_flags(col, rc[members], cc[members], test, threshold)
        flags[members] |= hit
        test_name = test.name
    return flags, test_name


def _choices(col: ResampledColumn, rc: np.ndarray, cc: np.ndarray, n_r: np.ndarray, rows: np.ndarray,
             selection: Selection | None) -> list[tuple[tuple[stattests.StatTest, float, str], np.ndarray]]:
    """Each distinct test and threshold detection chooses on these resamples, with the resamples (``rows``)."""
    if selection is not None and selection.pins(col.name, col.kind):  # the section's case: one test per column
        return [(stattests.choose(col.name, col.kind, 1, 1, selection), rows)] if rows.size else []
    distinct_ref = np.count_nonzero(rc, axis=1)
    distinct = np.count_nonzero(rc + cc, axis=1)
    at_least = np.zeros(rows.size, dtype=np.int64)
    if col.kind == NUMERIC:  # as detection counts them: the reference's alone once it has more than 5
        at_least = (distinct_ref > 5).astype(np.int64)
        distinct = np.where(at_least, distinct_ref, distinct)
    keys, inverse = np.unique(np.column_stack([n_r, distinct, at_least]), axis=0, return_inverse=True)
    groups: dict[tuple[str, float], tuple[tuple[stattests.StatTest, float, str], list[np.ndarray]]] = {}
    for i, (n_ref, n_unique, bound) in enumerate(keys):
        choice = stattests.choose(col.name, col.kind, int(n_ref), int(n_unique), selection, bool(bound))
        groups.setdefault((choice[0].name, choice[1]), (choice, []))[1].append(rows[inverse.ravel() == i])
    return [(choice, np.concatenate(parts)) for choice, parts in groups.values()]


def _with_set_rows(col: ResampledColumn, changed: np.ndarray) -> ResampledColumn:
    """The column whose current rows are the drifted rows that changed, then every reference row."""
    return replace(col, cur_codes=np.concatenate([col.cur_codes[changed], col.ref_codes]))


def _set_rows(uniform: np.ndarray, n_changed: int, rows_set: int, n: int) -> np.ndarray:
    """Rows of each current sample in ``_with_set_rows``'s order: ``rows_set`` drifted values, the rest reference rows.

    This is the scenario regenerated on a bootstrap sample of the reference: a share-based kind sets a fixed number
    of the sample's rows to its values, whatever they were (a plain bootstrap of the drifted rows would make that
    number binomial, and the power of a small share larger than the scenario's).
    """
    k = rows_set if n_changed else 0  # no value changed (all were set already): the reference rows alone
    rows = np.empty(uniform.shape, dtype=np.int64)
    rows[:, :k] = np.floor(uniform[:, :k] * n_changed)
    rows[:, k:] = n_changed + np.floor(uniform[:, k:] * n)
    return rows


Columns = Mapping[str, pd.Series] | pd.DataFrame


def resampled_power(reference: Columns, drifted: Columns, kinds: dict[str, str], feature: str | None,
                    n_resamples: int, seed: int = 0, selection: Selection | None = None,
                    rows_set: int | None = None) -> dict[str, Any]:
    """Share of resamples, of the reference against the drifted rows, in which detection flags the scenario.

    Args:
        reference: the reference rows (features only), as a frame or its columns by name.
        drifted: the scenario applied to those rows (same rows; at least the drifted columns).
        kinds: ``numeric`` / ``categorical`` per column.
        feature: the drifted column, or None for all columns (flagged when the dataset drifts: the share of
            drifted columns reaches ``stattests.DATASET_DRIFT_SHARE``).
        n_resamples: how many resamples.
        seed: makes the resamples reproducible.
        selection: the tests and thresholds, as in detection (the section pins one test per column).
        rows_set: for share-based kinds, how many rows the scenario sets (``scenarios.rows_set``): each current
            sample then holds that many of the drifted values and reference rows for the rest.

    Returns:
        ``{"power", "n_resamples", "interval", "test"}`` (``test`` is ``dataset`` for all columns; ``interval``
        from ``power_interval``); ``power`` and ``interval`` are None when no resample ran.
    """
    names = [feature] if feature is not None else list(reference)
    n = len(reference[names[0]]) if names else 0
    if n_resamples <= 0 or not n:
        return _measured(0, 0, None)
    columns = [encode_column(c, kinds.get(c) or column_kind(reference[c]), reference[c], drifted[c]) for c in names]
    changed = [scenarios.changed_rows(reference[c], drifted[c]) for c in names] if rows_set is not None else None
    if changed is not None:
        columns = [_with_set_rows(col, rows) for col, rows in zip(columns, changed)]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, MAX_CELLS // max([n, *(c.size for c in columns)])))
    hits, test = 0, None
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        ref_rows = rng.integers(0, n, (size, n))
        uniform = rng.random((size, n)) if changed is not None else None
        cur_rows = rng.integers(0, n, (size, n)) if changed is None else None
        flagged = np.zeros((len(columns), size), dtype=bool)
        for i, col in enumerate(columns):
            if changed is not None:
                cur_rows = _set_rows(uniform, changed[i].size, rows_set, n)
            flagged[i], test = column_flags(col, ref_rows, cur_rows, selection)
        if feature is not None:
            hits += int(flagged[0].sum())
        else:
            hits += int((flagged.mean(axis=0) >= stattests.DATASET_DRIFT_SHARE).sum())
    return _measured(hits, n_resamples, test if feature is not None else "dataset")


def detection_power(reference: pd.DataFrame, schema: dict[str, Any], kind: str, feature: str | None,
                    severity: float, n_resamples: int = 50, seed: int = 0, kinds: dict[str, str] | None = None,
                    selection: Selection | None = None, deadline: float | None = None) -> dict[str, Any]:
    """Share of regenerated resamples in which the scenario is detected (the definition; see the module docstring).

    Each resample draws a reference and a current sample independently (bootstrap, with replacement) from the
    reference rows, applies the scenario to the current one, and runs the column's test exactly as detection does.

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
        ``{"power", "n_resamples", "interval", "test"}``; ``power`` and ``interval`` are None when not a single
        resample ran.
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
    return _measured(hits, done, "dataset" if done else None)


def _column_power(column: pd.Series, schema: dict[str, Any], kind: str, severity: float, n_resamples: int,
                  seed: int, col_kind: str | None, selection: Selection | None,
                  deadline: float | None) -> dict[str, Any]:
    """One column's regenerated power without building frames."""
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
    return _measured(hits, done, test)
