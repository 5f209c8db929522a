"""Compile the numba code runs use, ahead of time: the sandbox's warm worker calls ``warm_up`` before it forks
children, so that no run pays the compile (drift's binned statistics ~1 s, the tree kernel ~2.5 s, interaction rows
~3 s, shap's permutation masking ~6 s, measured).

Our kernels are declared without numba's disk cache. A sandboxed child may read no cache directory and write none,
so whatever it compiles (a cold start, or a signature the warm worker did not compile) must stay in memory: a cache
lookup there fails with PermissionError. ``warm_up`` turns the cache on for the kernels it compiles, so the warm
worker loads what an earlier one kept (in the directory ``core.sandbox.numba_cache`` vouches for), and off again
before any child forks. shap declares its masking kernels without the cache too; ``warm_up`` does the same for
them (``masking_kernels``). In-process tests keep ours on (``keep_compiled_on_disk``).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from numba.core.caching import NullCache

from modelwatch.core.drift import binned
from modelwatch.core.explain import agnostic, treeshap

KERNELS = (*binned.KERNELS, *treeshap.KERNELS)


def keep_compiled_on_disk(kernels: Iterable[Any] = KERNELS) -> None:
    """Let numba save these kernels' compiled code in its cache directory, and load it from there when they are
    first called."""
    for kernel in kernels:
        kernel.enable_caching()


def _compile_in_memory(kernels: Iterable[Any]) -> None:
    """Compile these kernels without the disk cache from now on; what is compiled stays compiled."""
    for kernel in kernels:
        kernel._cache = NullCache()  # the state of a kernel declared without cache (numba has no public switch)


LINK_NAME = "modelwatch:shap.links.identity"


def masking_kernels() -> tuple[Any, ...]:
    """shap's permutation-masking kernels that numba can keep on disk (loaded: ~0.4 s of its ~6 s).

    ``_build_fixed_multi_output`` takes shap's identity link, a jitted function, as an argument: its cache index
    names that argument by the dispatcher's uuid, drawn at random in each process, so no other process would find
    the entry. Named once (``_named``), the same name rebuilds the live link in every process and the entry is
    found. Where the link already holds a random uuid, the kernel is left out (each process compiles it)."""
    from shap import links
    from shap.maskers import _tabular
    from shap.utils import _masked_model

    kept = (_tabular._delta_masking, links.identity)
    return (*kept, _masked_model._build_fixed_multi_output) if _named(links.identity, LINK_NAME) else kept


def _named(dispatcher: Any, name: str) -> bool:
    """Give ``dispatcher`` the uuid ``name`` unless it drew one already (numba draws it when it first pickles the
    dispatcher; there is no public setter); whether it holds ``name``."""
    if getattr(dispatcher, "_MemoMixin__uuid", None) is None:
        dispatcher._set_uuid(name)
    return dispatcher._uuid == name


def _seconds(step: Callable[[], object]) -> float:
    started = time.monotonic()
    step()
    return round(time.monotonic() - started, 2)


def _drift_kernels() -> None:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(size=200), rng.normal(0.5, 1.0, size=200)  # float64, as ``profile.finite_values`` gives
    lo = float(ref.min())
    frozen = ref.copy()
    frozen.flags.writeable = False  # a column pandas hands out read-only (copy-on-write) is a signature of its own
    for values in (ref, frozen):
        ref_bins, cur_bins = binned.cut(values, lo, 10.0, 64), binned.cut(cur, lo, 10.0, 64)
        binned.ks(ref_bins, cur_bins)
        binned.wasserstein(ref_bins, cur_bins)  # the shifted column crosses: every kernel runs


def _tree_inputs() -> tuple[np.ndarray, ...]:
    left = np.array([[1, -1, -1]], dtype=np.int64)
    right = np.array([[2, -1, -1]], dtype=np.int64)
    feature = np.array([[0, -1, -1]], dtype=np.int64)
    threshold = np.array([[0.0, 0.0, 0.0]])
    values = np.array([[[0.0], [-1.0], [1.0]]])
    cover = np.array([[2.0, 1.0, 1.0]])
    return left, right, left.copy(), feature, threshold, values, cover


def warm_up(explain: bool = True) -> dict[str, float]:
    """Compile drift's kernels and, with ``explain``, the tree kernels and shap's permutation masking, on toy inputs
    of the types and layouts runs pass (so the compiled signatures are the ones runs use); the seconds each took.

    The kernels compiled here load from numba's disk cache, or are saved there (shap's masking: those of
    ``masking_kernels``); then the cache is off again."""
    kernels = (*binned.KERNELS, *((*treeshap.KERNELS, *masking_kernels()) if explain else ()))
    keep_compiled_on_disk(kernels)
    try:
        seconds = {"drift_kernels_s": _seconds(_drift_kernels)}
        if explain:
            X, out = np.zeros((1, 1)), np.zeros((1, 1, 1))
            seconds["tree_kernel_s"] = _seconds(lambda: treeshap._rows(*_tree_inputs(), 1, X, out))
            seconds["interactions_kernel_s"] = _seconds(lambda: treeshap._interaction_rows(
                *_tree_inputs(), 1, X, np.zeros(1, dtype=np.int64), np.ones((1, 1), dtype=np.bool_), out[:, None]))
            seconds["permutation_masking_s"] = _seconds(agnostic._warm_up)
    finally:
        _compile_in_memory(kernels)
    return seconds
