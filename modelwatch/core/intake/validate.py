"""Structural checks of a loaded model, in the sandbox, after load and before anything calls it.

The allowlist decides which classes a file may build, not which values their fields hold; C and Cython code
(scipy's sparse kernels, sklearn's tree and histogram predictors) trusts indices it never checks. So every
object reachable from the model is visited once: sparse matrices get scipy's full format check, tree nodes
must point inside their own arrays and at existing features, vectorizers may not read files, functions held
in attributes come from a short reviewed list, and labels are plain scalars. Failure is ``CorruptModel``
naming the attribute and what was wrong.
"""
from __future__ import annotations

import functools
import gc
import importlib
import types
from collections.abc import Iterator
from typing import Any

import numpy as np

from modelwatch.errors import CorruptModel

MAX_OBJECTS = 2_000_000
MAX_FEATURES = 1_000_000  # beyond any tabular model; the operator's lower cap is applied by the web process
_SCALARS = (str, int, float, bool, np.str_, np.integer, np.floating, np.bool_)

# Functions a model may hold in an attribute, anywhere: pure numpy arithmetic that checks its arguments.
REVIEWED_FUNCTIONS = (
    "numpy.mean", "numpy.median", "numpy.nanmean", "numpy.nanmedian", "sklearn.utils.validation.check_array",
    "sklearn.feature_selection._univariate_selection.f_classif",
    "sklearn.feature_selection._univariate_selection.f_regression",
    "sklearn.feature_selection._univariate_selection.chi2",
    "sklearn.feature_selection._univariate_selection.mutual_info_classif",
    "sklearn.metrics._classification.balanced_accuracy_score",
)
# Functions allowed only in one attribute of one class (private helpers that trust their arguments' shapes).
REVIEWED_ATTRIBUTES = {
    ("BisectingKMeans", "_kmeans_single"): ("sklearn.cluster._kmeans._kmeans_single_lloyd",
                                            "sklearn.cluster._kmeans._kmeans_single_elkan"),
    # IsotonicRegression's scipy interp1d keeps the method it interpolates with (numpy indexing, bounds-checked).
    ("interp1d", "_call"): tuple(f"scipy.interpolate._interpolate.interp1d.{name}" for name in (
        "_call_linear_np", "_call_linear", "_call_nearest", "_call_previousnext")),
}


# A path is built only when something is wrong: ``(parent, ".", name)`` or ``(parent, "[]", key)``, or "model".
Where = Any


def _at(path: Where, kind: str, key: Any) -> Where:
    return (path, kind, key)


def _format(path: Where) -> str:
    parts = []
    while isinstance(path, tuple):
        path, kind, key = path
        parts.append(f".{key}" if kind == "." else f"[{key!r}]" if isinstance(key, str) else f"[{str(key)[:40]}]")
    return path + "".join(reversed(parts))


def _corrupt(path: Where, what: str) -> CorruptModel:
    where = _format(path)
    return CorruptModel(f"The model is malformed: {where} {what}.", {"attribute": where, "problem": what})


@functools.lru_cache(maxsize=1)
def _resolved(names: tuple[str, ...]) -> frozenset[int]:
    found = set()
    for dotted in names:
        parts = dotted.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # the longest importable module, then attributes (a class's)
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
                for name in parts[cut:]:
                    obj = getattr(obj, name)
            except (ImportError, AttributeError):
                continue
            found.add(id(obj))
            break
    return frozenset(found)


# Functions, builtins, ufuncs, bound methods (and partials, checked apart): values a model may call.
_FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, types.MethodType, np.ufunc)
_FUNCTION_TYPE_NAMES = ("cython_function_or_method", "_ArrayFunctionDispatcher", "method-wrapper")


def _check_function(value: Any, owner: Any, attribute: str, path: Where) -> None:
    if isinstance(value, np.ufunc) or id(value) in _resolved(REVIEWED_FUNCTIONS):
        return
    allowed = REVIEWED_ATTRIBUTES.get((type(owner).__name__, attribute))
    if allowed and id(value) in _resolved(allowed):
        return
    if isinstance(value, functools.partial) and id(value.func) in _resolved(REVIEWED_FUNCTIONS):
        return
    name = f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__name__)}"
    raise _corrupt(path, f"holds the function {name[:120]}, which a model may not call")


def _check_type(value: type, path: Where) -> None:
    # Classes held as values are called by the model (dtype=np.float64): scalar types only.
    if value.__module__ == "builtins" and value.__name__ in ("float", "int", "str", "bool", "object", "complex"):
        return
    if issubclass(value, np.generic):
        return
    raise _corrupt(path, f"holds the class {value.__module__}.{value.__qualname__}"[:200])


def _check_sparse(matrix: Any, path: Where) -> None:
    try:
        if matrix.format in ("csr", "csc", "bsr"):
            matrix.check_format(full_check=True)
        elif matrix.format == "coo":
            matrix._check()
        else:
            raise ValueError(f"sparse format {matrix.format} is not accepted")
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        raise _corrupt(path, f"is an inconsistent sparse matrix ({str(exc)[:120]})") from exc


def _check_trees(trees: list[tuple[Any, Where]]) -> None:
    """sklearn's Cython Trees, all at once: children inside the node array and after their parent, features in
    range. One vectorised pass over every node of a forest costs less than per-tree checks."""
    if not trees:
        return
    left = [tree.children_left for tree, _ in trees]
    sizes = np.array([len(a) for a in left])
    counts = np.array([int(tree.node_count) for tree, _ in trees])
    widths = np.array([int(tree.n_features) for tree, _ in trees])
    bad_shape = (sizes != counts) | (counts < 1) | (widths < 1) | (widths > MAX_FEATURES)
    if bad_shape.any():
        raise _corrupt(trees[int(np.argmax(bad_shape))][1], "has node arrays of inconsistent lengths")
    left = np.concatenate(left)
    right = np.concatenate([tree.children_right for tree, _ in trees])
    feature = np.concatenate([tree.feature for tree, _ in trees])
    owner = np.repeat(np.arange(len(trees)), sizes)
    index = np.arange(len(left)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    n, width = np.repeat(sizes, sizes), np.repeat(widths, sizes)
    leaf = left == -1
    inner = ~leaf
    problems = (
        (leaf != (right == -1), "has nodes with a single child"),
        (inner & ((left <= index) | (left >= n) | (right <= index) | (right >= n)),
         "has a node whose child index is out of range"),
        (inner & ((feature < 0) | (feature >= width)), "has a node whose feature index is out of range"),
    )
    for bad, what in problems:
        if bad.any():
            raise _corrupt(trees[int(owner[int(np.argmax(bad))])][1], what)


def _check_predictor(predictor: Any, n_features: int | None, path: Where) -> None:
    """A HistGradientBoosting TreePredictor: children, features and bitset rows inside their arrays."""
    nodes = predictor.nodes
    n = len(nodes)
    inner = nodes["is_leaf"] == 0
    index = np.arange(n)
    left, right = nodes["left"].astype(np.int64), nodes["right"].astype(np.int64)
    if n < 1 or np.any((left[inner] <= index[inner]) | (left[inner] >= n) | (right[inner] <= index[inner])
                       | (right[inner] >= n)):
        raise _corrupt(path, "has a node whose child index is out of range")
    features = nodes["feature_idx"][inner]
    if np.any(features < 0) or (n_features is not None and np.any(features >= n_features)):
        raise _corrupt(path, "has a node whose feature index is out of range")
    categorical = inner & (nodes["is_categorical"] != 0)
    rows = nodes["bitset_idx"][categorical]
    for name in ("binned_left_cat_bitsets", "raw_left_cat_bitsets"):
        bitsets = getattr(predictor, name, None)
        if rows.size and (bitsets is None or np.any(rows >= len(bitsets))):
            raise _corrupt(path, f"has a categorical node outside {name}")


def _check_metric(metric: Any, n_dims: int | None, path: Where) -> None:
    """A DistanceMetric: no Python function inside; its weight vector and matrix sized for the data."""
    if "PyFunc" in type(metric).__name__:
        raise _corrupt(path, "is a distance metric that calls a function")
    state = metric.__getstate__()
    vec, mat = np.asarray(state[1]), np.asarray(state[2])
    if n_dims is not None and ((vec.size > 1 and vec.shape != (n_dims,)) or
                               (mat.size > 1 and mat.shape != (n_dims, n_dims))):
        raise _corrupt(path, "has weights that do not match the data's dimension")


def _check_binary_tree(tree: Any, path: Where) -> None:
    """A KDTree/BallTree: the index permutes the data, nodes cover index ranges, arrays agree on sizes."""
    data, index, nodes, bounds = tree.get_arrays()
    state = tree.__getstate__()
    n_levels, n_nodes = int(state[5]), int(state[6])
    n, n_dims = data.shape if data.ndim == 2 else (-1, -1)
    starts, ends = nodes["idx_start"], nodes["idx_end"]
    ok = (data.ndim == 2 and index.shape == (n,) and len(nodes) == n_nodes == bounds.shape[1]
          and bounds.ndim == 3 and bounds.shape[2] == n_dims and 0 < n_levels < 64 and n_nodes == 2 ** n_levels - 1
          and np.all((index >= 0) & (index < n)) and np.all((starts >= 0) & (starts <= ends) & (ends <= n)))
    if not ok:
        raise _corrupt(path, "has index arrays that do not match its data")
    weights = state[12]
    if weights is not None and np.asarray(weights).shape != (n,):
        raise _corrupt(path, "has sample weights that do not match its data")
    _check_metric(state[11], n_dims, _at(path, ".", "dist_metric"))


def _check_labels(owner: Any, path: Where) -> None:
    for attribute in ("classes_", "feature_names_in_"):
        values = owner.__dict__.get(attribute)
        if values is None:
            continue
        if not isinstance(values, np.ndarray) or values.ndim != 1 or values.size > MAX_FEATURES:
            if attribute == "classes_" and isinstance(values, list):  # multi-output: one array per output
                for i, inner in enumerate(values):
                    _check_label_array(inner, _at(_at(path, ".", attribute), "[]", i))
                continue
            raise _corrupt(_at(path, ".", attribute), "is not a flat array")
        _check_label_array(values, _at(path, ".", attribute))


def _check_label_array(values: Any, path: Where) -> None:
    if not isinstance(values, np.ndarray) or values.ndim != 1:
        raise _corrupt(path, "is not a flat array")
    if values.dtype.kind in "biufU":
        return
    if values.dtype.kind != "O" or not all(isinstance(v, _SCALARS) for v in values.tolist()):
        raise _corrupt(path, "holds values that are not plain strings or numbers")


def _check_estimator(obj: Any, path: Where) -> None:
    from sklearn.feature_extraction.text import _VectorizerMixin

    if isinstance(obj, _VectorizerMixin) and getattr(obj, "input", "content") != "content":
        raise _corrupt(_at(path, ".", "input"), "makes the vectorizer read files; only input='content' is accepted")
    n_features = obj.__dict__.get("n_features_in_")
    if n_features is not None and (not isinstance(n_features, (int, np.integer)) or not 0 < n_features <= MAX_FEATURES):
        raise _corrupt(_at(path, ".", "n_features_in_"), "is not a plausible number of features")
    _check_labels(obj, path)
    for i, predictors in enumerate(obj.__dict__.get("_predictors") or []):
        for k, predictor in enumerate(predictors):
            where = _at(_at(_at(path, ".", "_predictors"), "[]", i), "[]", k)
            _check_predictor(predictor, n_features, where)
            _check_categorical_nodes(predictor, obj.__dict__.get("_bin_mapper"), n_features, where)


def _check_categorical_nodes(predictor: Any, bin_mapper: Any, n_features: Any, path: Where) -> None:
    """HistGradientBoosting's categorical splits index bitsets built from the bin mapper: they must agree."""
    nodes = predictor.nodes
    categorical = (nodes["is_leaf"] == 0) & (nodes["is_categorical"] != 0)
    if not categorical.any():
        return
    is_categorical = getattr(bin_mapper, "is_categorical_", None)
    thresholds = getattr(bin_mapper, "bin_thresholds_", None)
    if not isinstance(is_categorical, np.ndarray) or len(is_categorical) != n_features or \
            not np.all(is_categorical[nodes["feature_idx"][categorical]]) or \
            not isinstance(thresholds, list) or len(thresholds) != n_features:
        raise _corrupt(path, "has categorical splits on features the bin mapper does not know as categorical")
    for f in np.flatnonzero(is_categorical):
        values = np.asarray(thresholds[f])
        if values.size and (values.min() < 0 or values.max() > 255):  # bitsets hold categories 0..255
            raise _corrupt(path, "has categories outside 0..255")


_LEAVES = frozenset({str, int, float, bool, bytes, type(None), np.float64, np.float32, np.int64, np.int32, np.bool_,
                     np.str_})


def _children(value: Any, path: Where) -> Iterator[tuple[Any, Any, str, Where]]:
    """(child, owner, attribute, path) for what a value holds; plain scalars are skipped."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) not in _LEAVES:
                yield key, value, "", _at(path, "[]", "key")
            if type(item) not in _LEAVES:
                yield item, value, key if isinstance(key, str) else "", _at(path, "[]", key)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for i, item in enumerate(value):
            if type(item) not in _LEAVES:
                yield item, value, "", _at(path, "[]", i)
    elif isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            for i, item in enumerate(value.ravel().tolist()):
                if type(item) not in _LEAVES:
                    yield item, value, "", _at(path, "[]", i)
    elif isinstance(value, functools.partial):
        yield from _children(list(value.args) + list((value.keywords or {}).values()), _at(path, ".", "args"))
    elif hasattr(value, "__dict__") and not isinstance(value, (type, types.ModuleType)):
        for key, item in vars(value).items():
            if type(item) not in _LEAVES:
                yield item, value, key, _at(path, ".", key)


def validate_model(model: Any) -> None:
    """Visit every object reachable from the model once and refuse the first malformed one.

    Raises:
        CorruptModel: a structure that would make native code read or write out of bounds, a file reader,
            an unreviewed function, or labels that are not plain scalars; the message names the attribute.
    """
    # The walk makes no cycles; without this the collector would traverse the whole model again and again.
    enabled = gc.isenabled()
    gc.disable()
    try:
        _walk(model)
    finally:
        if enabled:
            gc.enable()


def _kind(cls: type) -> str:
    """What the walk does with instances of ``cls`` (decided once per class: a forest has few classes)."""
    from scipy import sparse
    from sklearn.base import BaseEstimator
    from sklearn.metrics import DistanceMetric
    from sklearn.neighbors import _ball_tree, _kd_tree
    from sklearn.tree._tree import Tree

    binary_trees = tuple(getattr(m, f"BinaryTree{bits}") for m in (_ball_tree, _kd_tree) for bits in (32, 64))
    if issubclass(cls, (str, bytes, int, float, bool, np.generic, type(None))):
        return "leaf"
    if issubclass(cls, type):
        return "type"
    if issubclass(cls, functools.partial):
        return "partial"
    if issubclass(cls, _FUNCTION_TYPES) or cls.__name__ in _FUNCTION_TYPE_NAMES:
        return "function"
    kinds = ((sparse.spmatrix, "sparse"), (sparse.sparray, "sparse"), (Tree, "tree"),
             (np.random.SeedSequence, "seed"), (DistanceMetric, "metric"), (binary_trees, "binary_tree"),
             (BaseEstimator, "estimator"))
    for base, kind in kinds:
        if issubclass(cls, base):
            return kind
    if cls.__name__ == "Booster" and cls.__module__.startswith(("xgboost.", "lightgbm.")):
        return "booster"
    return "other"


def _walk(model: Any) -> None:
    seen: set[int] = set()
    kinds: dict[type, str] = {}
    trees: list[tuple[Any, Where]] = []
    todo: list[tuple[Any, Any, str, Where]] = [(model, None, "", "model")]
    while todo:
        value, owner, attribute, path = todo.pop()
        cls = type(value)
        kind = kinds.get(cls) or kinds.setdefault(cls, _kind(cls))
        if kind == "leaf" or id(value) in seen:
            continue
        seen.add(id(value))
        if len(seen) > MAX_OBJECTS:
            raise CorruptModel("The model holds more objects than modelwatch checks.", {"limit": MAX_OBJECTS})
        if kind == "type":
            _check_type(value, path)
        elif kind in ("function", "partial"):
            _check_function(value, owner, attribute, path)
            if kind == "partial":
                todo.extend(_children(value, path))
        elif kind == "sparse":
            _check_sparse(value, path)
        elif kind == "tree":
            trees.append((value, path))
        elif kind == "metric":
            _check_metric(value, None, path)
        elif kind == "binary_tree":
            _check_binary_tree(value, path)
        elif kind == "booster":
            _check_booster(value)
        else:
            if kind == "seed" and value.pool.shape != (value.pool_size,):
                raise _corrupt(path, "is a seed sequence whose pool does not match its size")
            if kind == "estimator":
                _check_estimator(value, path)
            todo.extend(_children(value, path))
    _check_trees(trees)


def _check_booster(booster: Any) -> None:
    """XGBoost boosters held by their sklearn wrappers: checked against their own dumped structure.

    A LightGBM Booster parses its text inside ``__setstate__``; the unpickler checks that text before.
    """
    from modelwatch.core.intake.native import check_xgboost_booster

    if type(booster).__module__.startswith("xgboost."):
        check_xgboost_booster(booster)
