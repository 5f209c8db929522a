"""Compile the numba code explanations use, ahead of time: call it in the sandbox's warm worker before it
forks children, so that no run pays the compile (tree kernel ~2.5 s, interaction rows ~3 s, shap's masking
~10 s, measured)."""
from __future__ import annotations

import time

import numpy as np


def warm_up() -> dict[str, float]:
    """Compile the tree kernel and shap's permutation masking on toy inputs; return the seconds each took."""
    from modelwatch.core.explain import agnostic, treeshap

    treeshap.keep_compiled_on_disk()  # this worker's numba cache: what an earlier one compiled loads from there
    started = time.monotonic()
    left = np.array([[1, -1, -1]], dtype=np.int64)
    right = np.array([[2, -1, -1]], dtype=np.int64)
    feature = np.array([[0, -1, -1]], dtype=np.int64)
    threshold = np.array([[0.0, 0.0, 0.0]])
    values = np.array([[[0.0], [-1.0], [1.0]]])
    cover = np.array([[2.0, 1.0, 1.0]])
    X = np.zeros((1, 1))
    out = np.zeros((1, 1, 1))
    # the same types and layouts the Kernel passes, so the compiled signature is the one runs use
    treeshap._rows(left, right, left.copy(), feature, threshold, values, cover, 1, X, out)
    tree_s = time.monotonic() - started
    treeshap._interaction_rows(left, right, left.copy(), feature, threshold, values, cover, 1, X,
                               np.zeros(1, dtype=np.int64), np.ones((1, 1), dtype=np.bool_), out[:, None])
    interactions_s = time.monotonic() - started - tree_s
    return {"tree_kernel_s": round(tree_s, 2), "interactions_kernel_s": round(interactions_s, 2),
            "permutation_masking_s": round(agnostic._warm_up(), 2)}
