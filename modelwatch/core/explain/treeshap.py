"""Path-dependent Tree SHAP (Lundberg et al. 2018, algorithm 2) in numba, run on several threads.

It walks the tree arrays shap's TreeExplainer already extracted (same thresholds, covers, default children
and leaf values), so it gives shap's numbers; unlike shap's C extension it releases the GIL, so threads
split the rows across cores without starting processes (the sandbox forbids new processes).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numba as nb
import numpy as np

from modelwatch.core.explain.common import Budget, dense

COMPILE_S = 4.0  # first-call compile: 2.4 s of CPU measured (numba 0.68), longer on a loaded machine
CACHED_LOAD_S = 0.5  # loading it from numba's on-disk cache instead (0.26 s measured)
THREAD_OVERHEAD_S = 0.05  # starting the threads and copying the chunks: not worth it for tiny jobs
# fastmath without "nnan"/"ninf": with them LLVM may assume no NaN, np.isnan folds to False and a missing value
# takes the right child instead of the node's default (missing) child
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}


# One fractions are 0 or 1 in the path-dependent algorithm, so divisions by (i + 1) * one become products
# with a table of reciprocals: divisions dominated the inner loops.
@nb.njit(nogil=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _extend(P, off, depth, zero, one, feat, inv):  # noqa: ANN001, ANN202
    P[off + depth, 0] = feat
    P[off + depth, 1] = zero
    P[off + depth, 2] = one
    P[off + depth, 3] = 1.0 if depth == 0 else 0.0
    scale = inv[depth + 1]
    for i in range(depth - 1, -1, -1):
        P[off + i + 1, 3] += one * P[off + i, 3] * (i + 1) * scale
        P[off + i, 3] = zero * P[off + i, 3] * (depth - i) * scale


@nb.njit(nogil=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _unwind(P, off, depth, index, inv):  # noqa: ANN001, ANN202
    one, zero = P[off + index, 2], P[off + index, 1]
    following = P[off + depth, 3]
    scale = inv[depth + 1]
    if one != 0:
        for i in range(depth - 1, -1, -1):
            tmp = P[off + i, 3]
            P[off + i, 3] = following * (depth + 1) * inv[i + 1]
            following = tmp - P[off + i, 3] * zero * (depth - i) * scale
    else:
        inv_zero = 1.0 / zero
        for i in range(depth - 1, -1, -1):
            P[off + i, 3] = P[off + i, 3] * (depth + 1) * inv[depth - i] * inv_zero
    for i in range(index, depth):
        P[off + i, 0] = P[off + i + 1, 0]
        P[off + i, 1] = P[off + i + 1, 1]
        P[off + i, 2] = P[off + i + 1, 2]


@nb.njit(nogil=True, error_model="numpy", fastmath=FASTMATH, inline="always")
def _unwound_sum_on_path(P, off, depth, index, inv):  # noqa: ANN001, ANN202
    """The unwound path sum of an element whose one fraction is 1 (off-path elements are summed at once)."""
    zero = P[off + index, 1]
    following = P[off + depth, 3]
    total = 0.0
    for i in range(depth - 1, -1, -1):
        tmp = following * inv[i + 1]
        total += tmp
        following = P[off + i, 3] - tmp * zero * (depth - i)
    return total * (depth + 1)


@nb.njit(nogil=True, error_model="numpy", fastmath=FASTMATH)
def _tree(t, left, right, default, feature, threshold, values, cover, x, missing, phi,  # noqa: ANN001, ANN202
          P, stack_i, stack_f, inv, condition, conditioned):
    # Depth-first with an explicit stack instead of recursion: numba's recursive calls pass every array
    # field by value and cost more than the arithmetic. A child's path segment starts after its parent's,
    # which stays intact until both children are done, exactly as in the recursive formulation.
    # ``condition`` 1 / -1 holds feature ``conditioned`` on / off (shap's interaction values): its splits send
    # all the weight down the hot child / split it by cover, and it never joins the path; 0 is plain Tree SHAP.
    top = 0
    stack_i[0, 0], stack_i[0, 1], stack_i[0, 2], stack_i[0, 3] = 0, 0, 0, -1
    stack_f[0, 0], stack_f[0, 1], stack_f[0, 2] = 1.0, 1.0, 1.0
    while top >= 0:
        node, depth, parent_off, parent_feature = stack_i[top, 0], stack_i[top, 1], stack_i[top, 2], stack_i[top, 3]
        parent_zero, parent_one, fraction = stack_f[top, 0], stack_f[top, 1], stack_f[top, 2]
        top -= 1
        off = parent_off + depth + 1
        for i in range(depth + 1):
            P[off + i, 0] = P[parent_off + i, 0]
            P[off + i, 1] = P[parent_off + i, 1]
            P[off + i, 2] = P[parent_off + i, 2]
            P[off + i, 3] = P[parent_off + i, 3]
        if condition == 0 or parent_feature != conditioned:
            _extend(P, off, depth, parent_zero, parent_one, parent_feature, inv)
        if right[t, node] < 0:
            # Off-path elements (one fraction 0) all get the same share, -cold (FastTreeSHAP v1's observation):
            # one O(depth) sum per leaf instead of one per element.
            cold = 0.0
            for i in range(depth):
                cold += P[off + i, 3] * inv[depth - i]
            cold *= (depth + 1) * fraction
            for i in range(1, depth + 1):
                if P[off + i, 2] == 0:
                    scale = -cold
                else:
                    scale = _unwound_sum_on_path(P, off, depth, i, inv) * (1.0 - P[off + i, 1]) * fraction
                for k in range(phi.shape[1]):
                    phi[int(P[off + i, 0]), k] += scale * values[t, node, k]
            continue
        split = feature[t, node]
        if missing[split]:
            hot = default[t, node]
        elif x[split] <= threshold[t, node]:
            hot = left[t, node]
        else:
            hot = right[t, node]
        cold = right[t, node] if hot == left[t, node] else left[t, node]
        weight = cover[t, node]
        incoming_zero, incoming_one = 1.0, 1.0
        index = 0
        while index <= depth:
            if P[off + index, 0] == split:
                break
            index += 1
        if index != depth + 1:
            incoming_zero, incoming_one = P[off + index, 1], P[off + index, 2]
            _unwind(P, off, depth, index, inv)
            depth -= 1
        hot_fraction, cold_fraction = fraction, fraction
        if condition != 0 and split == conditioned:
            if condition > 0:
                cold_fraction = 0.0
            else:
                hot_fraction *= cover[t, hot] / weight
                cold_fraction *= cover[t, cold] / weight
            depth -= 1  # the children do not extend the path with the held feature
        if cold_fraction != 0:  # the cold child waits below the hot one
            top += 1
            stack_i[top, 0], stack_i[top, 1], stack_i[top, 2], stack_i[top, 3] = cold, depth + 1, off, split
            stack_f[top, 0], stack_f[top, 1] = cover[t, cold] / weight * incoming_zero, 0.0
            stack_f[top, 2] = cold_fraction
        if hot_fraction != 0:
            top += 1
            stack_i[top, 0], stack_i[top, 1], stack_i[top, 2], stack_i[top, 3] = hot, depth + 1, off, split
            stack_f[top, 0], stack_f[top, 1] = cover[t, hot] / weight * incoming_zero, incoming_one
            stack_f[top, 2] = hot_fraction


@nb.njit(nogil=True)
def _buffers(max_depth):  # noqa: ANN001, ANN202
    """The path segments, the explicit stack and the reciprocals one walk needs."""
    size = (max_depth + 2) * (max_depth + 3) // 2 + max_depth + 8
    inv = np.zeros(max_depth + 8)
    for k in range(1, max_depth + 8):
        inv[k] = 1.0 / k
    return np.zeros((size, 4)), np.zeros((2 * max_depth + 8, 4), np.int64), np.zeros((2 * max_depth + 8, 3)), inv


@nb.njit(nogil=True, error_model="numpy", fastmath=FASTMATH)
def _rows(left, right, default, feature, threshold, values, cover, max_depth, X, out):  # noqa: ANN001, ANN202
    P, stack_i, stack_f, inv = _buffers(max_depth)
    for r in range(X.shape[0]):
        x = X[r]
        missing = np.isnan(x)
        for t in range(left.shape[0]):
            _tree(t, left, right, default, feature, threshold, values, cover, x, missing, out[r],
                  P, stack_i, stack_f, inv, 0, -1)


@nb.njit(nogil=True, error_model="numpy", fastmath=FASTMATH)
def _interaction_rows(left, right, default, feature, threshold, values, cover, max_depth, X,  # noqa: ANN001, ANN202
                      held, uses, out):
    """Rows ``held`` of each row's SHAP interaction matrix, as shap's C extension computes them.

    Off the diagonal, (SHAP values with the held feature on - with it off) / 2 summed over the trees that split on
    it; on the diagonal, the feature's SHAP value less the rest of its row (the matrix is symmetric: shap
    subtracts the rest of its column, the same numbers to rounding). Only the held features are conditioned on:
    a dozen of them cost a fraction of the full matrix.
    """
    P, stack_i, stack_f, inv = _buffers(max_depth)
    phi = np.zeros((X.shape[1], out.shape[3]))
    on = np.zeros((X.shape[1], out.shape[3]))
    off = np.zeros((X.shape[1], out.shape[3]))
    for r in range(X.shape[0]):
        x = X[r]
        missing = np.isnan(x)
        phi[:] = 0.0
        for t in range(left.shape[0]):
            _tree(t, left, right, default, feature, threshold, values, cover, x, missing, phi,
                  P, stack_i, stack_f, inv, 0, -1)
            for a in range(held.size):
                if not uses[t, held[a]]:
                    continue  # a tree that never splits on the feature adds nothing to its interactions
                on[:] = 0.0
                off[:] = 0.0
                _tree(t, left, right, default, feature, threshold, values, cover, x, missing, on,
                      P, stack_i, stack_f, inv, 1, held[a])
                _tree(t, left, right, default, feature, threshold, values, cover, x, missing, off,
                      P, stack_i, stack_f, inv, -1, held[a])
                for j in range(on.shape[0]):
                    for k in range(on.shape[1]):
                        out[r, a, j, k] += (on[j, k] - off[j, k]) / 2
        for a in range(held.size):
            for k in range(out.shape[3]):
                rest = 0.0
                for j in range(X.shape[1]):
                    if j != held[a]:
                        rest += out[r, a, j, k]
                out[r, a, held[a], k] = phi[held[a], k] - rest


KERNELS = (_tree, _buffers, _rows, _interaction_rows)  # compiled as functions of their own; the rest is inlined


def _first_call_s(function: Any) -> float:
    """Seconds a kernel's first call spends before computing: none once compiled here, a load from numba's cache
    (only where ``core.warm.keep_compiled_on_disk`` turned it on: in-process tests), or a compile."""
    if function.signatures:
        return 0.0
    try:  # numba's cache index for this kernel (private API: any surprise means "not cached")
        cached = os.path.exists(function._cache._cache_file._index_path)
    except AttributeError:
        cached = False
    return CACHED_LOAD_S if cached else COMPILE_S


class Kernel:
    """The numba walk over one TreeEnsemble, split across ``n_threads`` threads."""

    def __init__(self, ensemble: Any, n_threads: int) -> None:
        self.arrays = (
            np.ascontiguousarray(ensemble.children_left, dtype=np.int64),
            np.ascontiguousarray(ensemble.children_right, dtype=np.int64),
            np.ascontiguousarray(ensemble.children_default, dtype=np.int64),
            np.ascontiguousarray(ensemble.features, dtype=np.int64),
            np.ascontiguousarray(ensemble.thresholds, dtype=float),
            np.ascontiguousarray(ensemble.values, dtype=float),
            np.ascontiguousarray(ensemble.node_sample_weight, dtype=float),
        )
        self.max_depth = int(ensemble.max_depth)
        self.input_dtype = getattr(ensemble, "input_dtype", np.float64)
        self.n_outputs = int(ensemble.num_outputs)
        self.n_threads = n_threads
        self.mode = f"numba path-dependent Tree SHAP on {n_threads} threads"
        self.shap_per_row: float | None = None

    @classmethod
    def from_explainer(cls, explainer: Any, n_threads: int) -> Kernel | None:
        """A kernel for shap's own tree arrays; None where shap delegates to the library or splits are not numeric."""
        model = explainer.model
        if getattr(model, "model_type", None) != "internal":
            return None
        if np.any(np.asarray(getattr(model, "threshold_types", 0)) > 0) or model.model_output != "raw":
            return None
        return cls(model, n_threads)

    def compiled(self) -> bool:
        """Compiled in this process, or compiled before and found in numba's on-disk cache."""
        return _first_call_s(_rows) < COMPILE_S

    @staticmethod
    def interactions_first_call_s() -> float:
        """What the first ``interaction_rows`` call costs before it computes (compile or cache load)."""
        return _first_call_s(_interaction_rows)

    def observe_shap(self, per_row: float) -> None:
        self.shap_per_row = per_row

    def worth_it(self, rows_left: int, budget: Budget) -> bool:
        """Threads pay when shap alone would take longer than the kernel's compile plus its share of the work."""
        if self.shap_per_row is None:
            return False  # the first chunk runs on shap, to measure what splitting would save
        compile_s = _first_call_s(_rows)
        alone = self.shap_per_row * rows_left
        return alone / self.n_threads + compile_s + THREAD_OVERHEAD_S < alone and budget.left() > compile_s * 2

    def shap_values(self, X: Any) -> np.ndarray:
        """SHAP values ``(n, features, outputs)`` of the rows of ``X``."""
        # sklearn compares float32 inputs with its thresholds; rounding the same way keeps every row on the
        # branch the model itself takes (shap does the same)
        X = np.ascontiguousarray(dense(X).astype(self.input_dtype).astype(float))
        out = np.zeros((X.shape[0], X.shape[1], self.n_outputs))
        if not _rows.signatures:  # compile (or load from the cache) once, on one row, before the threads start
            _rows(*self.arrays, self.max_depth, X[:1], out[:1])
        splits = np.array_split(np.arange(X.shape[0]), self.n_threads)

        def run(index: np.ndarray) -> None:
            part = np.zeros((len(index), X.shape[1], self.n_outputs))
            _rows(*self.arrays, self.max_depth, X[index], part)
            out[index] = part

        with ThreadPoolExecutor(self.n_threads) as pool:
            list(pool.map(run, [s for s in splits if len(s)]))
        return out

    def interaction_rows(self, X: Any, held: list[int]) -> np.ndarray:
        """Rows ``held`` of each row's SHAP interaction matrix: ``(n, len(held), features, outputs)``."""
        X = np.ascontiguousarray(dense(X).astype(self.input_dtype).astype(float))
        held_ = np.asarray(held, dtype=np.int64)
        left, right, feature = self.arrays[0], self.arrays[1], self.arrays[3]
        uses = np.zeros((left.shape[0], X.shape[1]), dtype=np.bool_)
        trees, nodes = np.nonzero(right >= 0)  # internal nodes
        uses[trees, feature[trees, nodes]] = True
        out = np.zeros((X.shape[0], held_.size, X.shape[1], self.n_outputs))
        splits = [s for s in np.array_split(np.arange(X.shape[0]), self.n_threads) if len(s)]

        def run(index: np.ndarray) -> None:
            part = np.zeros((len(index), *out.shape[1:]))
            _interaction_rows(*self.arrays, self.max_depth, X[index], held_, uses, part)
            out[index] = part

        if len(splits) == 1:
            run(splits[0])
        else:
            with ThreadPoolExecutor(len(splits)) as pool:
                list(pool.map(run, splits))
        return out
