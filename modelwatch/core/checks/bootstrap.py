"""Vectorised, seeded percentile bootstrap of quality metrics, with each resample held as row counts.

A resample of n rows is a vector ``w`` of how often each row was drawn (summing to n); a block of resamples is
a matrix ``W`` (resamples x rows). Every metric is then built from weighted sums over rows, so one dense product
``W @ columns`` (and, for ROC AUC, one sparse product with each row's tie-group indicator) computes it for all
resamples at once. With ``w`` all ones each function gives the plain metric, which is how the tests check them
against scikit-learn.

Work is bounded: at most ``MAX_CELLS`` counts in all (so fewer resamples for large samples, never fewer than
``MIN_BOOT``), and above ``MAX_ROWS`` rows the resamples are drawn from a seeded subsample of ``MAX_ROWS`` rows
and their spread is scaled by ``sqrt(MAX_ROWS / n)`` around the full-sample estimate (m-out-of-n bootstrap;
valid for these smooth, root-n metrics).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from scipy import sparse
from threadpoolctl import threadpool_limits

BLOCK_CELLS = 1_000_000  # counts held at once (8 MB of float64): bounds memory whatever n and n_boot
MAX_CELLS = 20_000_000
MIN_BOOT = 200
MAX_ROWS = 100_000
LEVEL = 0.95
SPARSE_CLASS_ROWS = 10  # below this many labelled rows a class's scores barely vary across resamples
EPS = np.finfo(np.float64).eps
Stats = Callable[[np.ndarray], dict[str, np.ndarray]]


def count_blocks(n: int, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Yield blocks of resample count matrices (float, resamples x n), ``n_boot`` rows in all, seeded."""
    rng = np.random.default_rng(seed)
    per_block = max(1, BLOCK_CELLS // max(n, 1))
    for start in range(0, n_boot, per_block):
        b = min(per_block, n_boot - start)
        draws = rng.integers(0, n, size=(b, n)) + np.arange(b)[:, None] * n
        yield np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(float)


def _auc_columns(hit: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, int]:
    """Each row's column in a (tie group x positive/negative) layout: groups ordered by score, ``2 * G`` columns."""
    unique, group = np.unique(score, return_inverse=True)
    return group + len(unique) * (~hit), 2 * len(unique)


def _auc_from_groups(sums: np.ndarray) -> np.ndarray:
    """ROC AUC per resample from weighted positive / negative counts per tie group (Mann-Whitney, ties half)."""
    g = sums.shape[1] // 2
    pos, neg = sums[:, :g], sums[:, g:]
    neg_below = np.cumsum(neg, axis=1) - neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return (pos * (neg_below + 0.5 * neg)).sum(axis=1) / (pos.sum(axis=1) * neg.sum(axis=1))


def _auc_indicator(hits: list[np.ndarray], rankings: list[np.ndarray]) -> tuple[sparse.csr_matrix, np.ndarray]:
    """One sparse (rows x columns) indicator for several one-vs-rest AUCs, and each AUC's column offsets."""
    parts = [_auc_columns(h, np.asarray(r, dtype=float)) for h, r in zip(hits, rankings)]
    offsets = np.cumsum([0] + [width for _, width in parts])
    n = len(hits[0])
    rows = np.tile(np.arange(n), len(parts))
    columns = np.concatenate([c + offsets[i] for i, (c, _) in enumerate(parts)])
    return sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(n, offsets[-1])), offsets


def weighted_auc(W: np.ndarray, hit: np.ndarray, score: np.ndarray) -> np.ndarray:
    """ROC AUC of ``score`` for the boolean ``hit`` under each row of weights (Mann-Whitney, ties count half)."""
    indicator, _ = _auc_indicator([np.asarray(hit, dtype=bool)], [score])
    return _auc_from_groups(np.asarray(W @ indicator))


def prepare_classification(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, classes: list[Any],
                           with_auc: bool = True, scores: np.ndarray | None = None) -> Stats:
    """The function ``W -> {metric: values per resample}`` of accuracy, balanced accuracy, F1 macro, log loss,
    Brier and ROC AUC (ranked by ``scores``, one column per class, when given, else by ``proba``)."""
    labels = np.asarray(classes, dtype=object)
    onehot = np.asarray(y, dtype=object)[:, None] == labels[None, :]
    predicted = np.asarray(pred, dtype=object)[:, None] == labels[None, :]
    # macro scores over the labels seen in y or pred, as scikit-learn does
    seen = np.flatnonzero(onehot.any(axis=0) | predicted.any(axis=0))
    k = len(seen)
    cols = [np.ones(len(onehot)), (onehot & predicted).any(axis=1)]
    cols += [onehot[:, j] for j in seen] + [predicted[:, j] for j in seen] + [(onehot & predicted)[:, j] for j in seen]
    if proba is not None:
        cols.append(-np.log(np.clip((proba * onehot).sum(axis=1), EPS, 1 - EPS)))
        cols.append((proba[:, 1] - onehot[:, 1]) ** 2 if len(classes) == 2 else ((proba - onehot) ** 2).sum(axis=1))
    matrix = np.column_stack(cols).astype(float)
    ranking = scores if scores is not None else proba
    auc = None
    if with_auc and ranking is not None:
        shown = [1] if len(classes) == 2 else list(range(len(classes)))
        auc = _auc_indicator([onehot[:, j] for j in shown], [ranking[:, j] for j in shown])

    def stats(W: np.ndarray) -> dict[str, np.ndarray]:
        sums = W @ matrix
        n = sums[:, 0]
        support, pred_count, tp = sums[:, 2:2 + k], sums[:, 2 + k:2 + 2 * k], sums[:, 2 + 2 * k:2 + 3 * k]
        with np.errstate(invalid="ignore", divide="ignore"):
            recall = np.where(support > 0, tp / support, np.nan)
            # a class absent from a resample (in y and in pred) is left out of the mean, as scikit-learn does
            f1 = np.where(support + pred_count > 0, 2 * tp / (support + pred_count), np.nan)
        out = {"accuracy": sums[:, 1] / n, "balanced_accuracy": np.nanmean(recall, axis=1),
               "f1_macro": np.nanmean(f1, axis=1)}
        if proba is not None:
            out["log_loss"], out["brier"] = sums[:, -2] / n, sums[:, -1] / n
        if auc is not None:
            indicator, offsets = auc
            grouped = np.asarray(W @ indicator)
            out["roc_auc"] = np.mean([_auc_from_groups(grouped[:, offsets[i]:offsets[i + 1]])
                                      for i in range(len(offsets) - 1)], axis=0)
        return out

    return stats


def classification_stats(W: np.ndarray, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None,
                         classes: list[Any], with_auc: bool = True,
                         scores: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Classification metrics under each row of weights ``W`` (see ``prepare_classification``)."""
    return prepare_classification(y, pred, proba, classes, with_auc, scores)(W)


def prepare_regression(y: np.ndarray, pred: np.ndarray) -> Stats:
    """The function ``W -> {metric: values per resample}`` of MAE, RMSE, R² and MAPE."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    err = y - pred
    matrix = np.column_stack([np.ones(len(y)), np.abs(err), err**2, np.abs(err) / np.maximum(np.abs(y), EPS),
                              y, y**2])

    def stats(W: np.ndarray) -> dict[str, np.ndarray]:
        n, abs_err, sse, ape, sy, syy = (W @ matrix).T
        sst = syy - sy**2 / n
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = np.where(sst > 0, 1 - sse / sst, np.nan)
        return {"mae": abs_err / n, "rmse": np.sqrt(sse / n), "r2": r2, "mape": ape / n}

    return stats


def regression_stats(W: np.ndarray, y: np.ndarray, pred: np.ndarray) -> dict[str, np.ndarray]:
    """MAE, RMSE, R² and MAPE under each row of weights ``W``."""
    return prepare_regression(y, pred)(W)


def intervals(prepare: Callable[[np.ndarray], Stats], n: int, n_boot: int, seed: int) -> dict[str, Any]:
    """Percentile intervals of every metric of ``prepare(rows)(W)``, within the work bounds of this module.

    Args:
        prepare: given the row positions to use, returns the ``W -> metrics`` function for those rows.
        n: rows in the sample.
        n_boot: resamples wanted (fewer when ``n * n_boot`` exceeds ``MAX_CELLS``, never below ``MIN_BOOT``).
        seed: the seed of the resamples and of the subsample (the same seed gives the same intervals).

    Returns:
        ``{"ci": {"<metric>": [low, high] | None}, "n_boot", "rows", "level"}``.
    """
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(n, MAX_ROWS, replace=False)) if n > MAX_ROWS else np.arange(n)
    m = len(rows)
    n_boot = min(n_boot, max(MIN_BOOT, MAX_CELLS // max(m, 1)))
    # single-threaded BLAS: these products are memory bound, and threads fighting for busy cores are 5x slower
    with threadpool_limits(limits=1, user_api="blas"):
        stats = prepare(rows)
        blocks = [stats(W) for W in count_blocks(m, n_boot, seed)]
        if m < n:  # m-out-of-n: centre on the full estimate, scale the spread by sqrt(m / n)
            full, sub = prepare(np.arange(n))(np.ones((1, n))), stats(np.ones((1, m)))
    level = (1 - LEVEL) / 2 * 100
    out: dict[str, list[float] | None] = {}
    for name in blocks[0]:
        values = np.concatenate([b[name] for b in blocks])
        values = values[np.isfinite(values)]
        if not values.size:
            out[name] = None
            continue
        low, high = np.percentile(values, [level, 100 - level])
        if m < n:
            scale = np.sqrt(m / n)
            low, high = (full[name][0] + (q - sub[name][0]) * scale for q in (low, high))
        out[name] = [float(low), float(high)]
    return {"ci": out, "n_boot": int(n_boot), "rows": int(m), "level": LEVEL}


def bootstrap_classification(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, classes: list[Any],
                             n_boot: int, seed: int, with_auc: bool = True,
                             scores: np.ndarray | None = None) -> dict[str, Any]:
    """95% percentile intervals of the headline classification metrics.

    Args:
        y: true labels; pred: predicted labels; proba: probabilities in ``classes`` order or None.
        classes: the model's classes.
        n_boot: resamples; seed: their seed (the same seed gives the same intervals).
        with_auc: include ROC AUC (False when it is undefined on the data).
        scores: what ranks the rows for ROC AUC (one column per class), when not ``proba``.

    Returns:
        See ``intervals``; plus ``sparse_classes``: the classes with 1 to ``SPARSE_CLASS_ROWS - 1`` labelled rows,
        whose per-class scores a resample cannot vary enough: intervals over them (F1 macro, balanced accuracy)
        are narrower than the truth's spread (measured: a 4% class at n = 60 gave 57-83% coverage, not 95%).
    """
    y, pred = np.asarray(y, dtype=object), np.asarray(pred, dtype=object)

    def prepare(rows: np.ndarray) -> Stats:
        return prepare_classification(y[rows], pred[rows], None if proba is None else proba[rows], classes,
                                      with_auc, None if scores is None else scores[rows])

    support = {c: int(np.sum(y == c)) for c in classes}
    sparse = [c for c, count in support.items() if 0 < count < SPARSE_CLASS_ROWS]
    return {**intervals(prepare, len(y), n_boot, seed), "sparse_classes": sparse}


def bootstrap_regression(y: np.ndarray, pred: np.ndarray, n_boot: int, seed: int) -> dict[str, Any]:
    """95% percentile intervals of MAE, RMSE, R² and MAPE (see ``bootstrap_classification``)."""
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float)
    return intervals(lambda rows: prepare_regression(y[rows], pred[rows]), len(y), n_boot, seed)
