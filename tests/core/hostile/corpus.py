"""Hostile model files built at test time (never committed): each forges a structure out of allowlisted parts.

``scan_cases`` are refused by the static scan in the web process before anything is built, so the tests may
check them in-process. ``sandbox_cases`` build objects (forged indices, dtypes, functions): they are only ever
loaded inside the sandbox. Every case says which codes are an acceptable end.
"""
from __future__ import annotations

import bz2
import copy
import functools
import io
import json
import lzma
import pickle
import re
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

REFUSED = ("unsafe_model", "corrupt_model")
# A crash in the sandbox is acceptable for a forged structure only as model_crashed, never as resource_limit.
REFUSED_OR_CRASHED = (*REFUSED, "model_crashed")


@dataclass
class Case:
    name: str
    data: bytes
    allowed: tuple[str, ...] = REFUSED


class _Reduce:
    """Pickles as ``func(*args)`` (optionally followed by BUILD ``state``)."""

    def __init__(self, func: Any, args: tuple[Any, ...], state: Any = None) -> None:
        self.func, self.args, self.state = func, args, state

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


def _p4(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw


def _joblib(obj: Any, **kwargs: Any) -> bytes:
    import joblib

    buffer = io.BytesIO()
    joblib.dump(obj, buffer, **kwargs)
    return buffer.getvalue()


def _skops_zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _framed_array() -> bytes:
    """A joblib array header, its raw bytes and the rest in one frame: the loader would read the array after
    the frame, a plain walk inside it; the 8 'raw' bytes are a GLOBAL os.system the two readings would disagree on."""
    from joblib.numpy_pickle import NumpyArrayWrapper

    header = pickle.dumps(NumpyArrayWrapper(np.ndarray, (1,), "C", np.dtype("f8")), protocol=3)[2:-1]
    body = header + b"cos\nsystem\n"[:8] + b"."
    return b"\x80\x04\x95" + struct.pack("<Q", len(body)) + body


def _forged_dtype(descr: str, state: tuple[Any, ...]) -> _Reduce:
    return _Reduce(np.dtype, (descr, False, True), state)


def scan_cases() -> list[Case]:
    """Files the static scan refuses before anything is built (checked in-process and through the API)."""
    from joblib.numpy_pickle import NumpyArrayWrapper

    n = 1_000_000
    lightweight = [
        # A million nested TUPLE1 in a FROZENSET: hashing it crashed the web worker (SIGSEGV).
        Case("nested_tuple_frozenset", _p4(b"(N" + b"\x85" * n + b"\x91")),
        Case("nested_marks_frozenset", _p4(b"(" * n + b"N" + b"\x91" * n)),
        Case("deep_list_appends", _p4(b"]" * 200_000 + b"a" * 199_999)),
        # MARK/POP_MARK with a tall stack: quadratic in a walk that copies the stack at each MARK.
        Case("mark_pop_mark_flood", _p4(b"N" * 200_000 + b"(1" * 200_000 + b"N"), ("unsafe_model", "not_a_model")),
        Case("opcode_flood", _p4(b"N0" * 3_000_000 + b"N")),
        Case("huge_long_shape", _p4(_u("numpy._core.multiarray") + _u("_reconstruct") + b"\x93" + _u("numpy")
                                    + _u("ndarray") + b"\x93\x8a\x04\x00\x00\x10\x00\x8b" + struct.pack("<i", 1 << 20)
                                    + b"\x01" * (1 << 20) + b"\x86" + _u("b") + b"\x87R")),
        Case("global_with_space", b"cos\nsystem \n(S'true'\ntR."),
        Case("global_dotted_name", b"cjoblib.numpy_pickle\nos.system\n(S'true'\ntR."),
        Case("global_non_ascii", "cos\u00e9\nsystem\n(S'true'\ntR.".encode()),
        Case("stack_global_nul", _p4(_u("builtins\x00") + _u("eval") + b"\x93" + _u("1") + b"\x85R")),
        Case("inst_with_tab", b"(S'true'\nios\tx\nsystem\n."),
        Case("framed_array_wrapper", _framed_array()),
        Case("dtype_flags_cleared_header", pickle.dumps(NumpyArrayWrapper(
            np.ndarray, (2,), "C", _forged_dtype("O8", (3, "|", None, None, None, -1, -1, 0))), protocol=3)
            + b"\x41" * 16),
        Case("dtype_structured_hidden_object", pickle.dumps(NumpyArrayWrapper(
            np.ndarray, (1,), "C", _forged_dtype("V16", (3, "|", None, ("a", "b"), {
                "a": (np.dtype("O"), 0), "b": (np.dtype("f8"), 8)}, 16, 1, 16))), protocol=3) + b"\x41" * 16),
        Case("dtype_itemsize_grown_header", pickle.dumps(NumpyArrayWrapper(
            np.ndarray, (1,), "C", _forged_dtype("f8", (3, "<", None, None, None, 4096, 8, 0))), protocol=3)
            + b"\x41" * 8),
        Case("object_array_nested_wrapper", _nested_wrapper()),
    ]
    zeros = b"\x00" * (8 << 20)  # expands over 200-fold: refused after the first MiB whatever follows
    bombs = [Case(f"joblib_{name}_bomb", data, ("unsafe_model", "payload_too_large")) for name, data in (
        ("bz2", bz2.compress(zeros, 9)), ("xz", lzma.compress(zeros)), ("gzip", _gzip(zeros)), ("lz4", _lz4(zeros)))]
    skops = [
        Case("skops_bzip2_schema_bomb", _skops_zip({"schema.json": b" " * (8 << 20)}, zipfile.ZIP_BZIP2)),
        Case("skops_lzma_member", _skops_zip({"schema.json": b"{}"}, zipfile.ZIP_LZMA)),
        Case("skops_declared_bomb", _declared_size(_skops_zip({"schema.json": b"{}", "a.npy": b"\x00"}), 1 << 31)),
        Case("skops_function_as_object", _skops_schema({
            "__class__": "check_array", "__module__": "sklearn.utils.validation", "__loader__": "ObjectNode",
            "__id__": 1, "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode",
                                     "__id__": 2, "content": {}}})),
        Case("skops_value_entry_called", _skops_schema({
            "__class__": "_kmeans_single_lloyd", "__module__": "sklearn.cluster._kmeans",
            "__loader__": "ConstructorFromReduceNode", "__id__": 1,
            "content": {"__class__": "tuple", "__module__": "builtins", "__loader__": "TupleNode", "__id__": 2,
                        "content": []}})),
        Case("skops_unknown_loader", _skops_schema({
            "__class__": "LogisticRegression", "__module__": "sklearn.linear_model._logistic",
            "__loader__": "SomethingNode", "__id__": 1})),
    ]
    return lightweight + bombs + skops


def _declared_size(archive: bytes, size: int) -> bytes:
    """The zip with its last central-directory entry declaring ``size`` uncompressed bytes."""
    at = archive.rindex(b"PK\x01\x02") + 24
    return archive[:at] + struct.pack("<I", size) + archive[at + 4:]


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data, 9)


def _lz4(data: bytes) -> bytes:
    import lz4.frame

    return lz4.frame.compress(data)


def _skops_schema(schema: dict[str, Any]) -> bytes:
    return _skops_zip({"schema.json": json.dumps({**schema, "protocol": 2, "_skops_version": "0.16.0"}).encode()})


def _nested_wrapper() -> bytes:
    """An object array whose own pickle holds another joblib array header (joblib never writes that)."""
    from joblib.numpy_pickle import NumpyArrayWrapper

    inner = pickle.dumps(NumpyArrayWrapper(np.ndarray, (1,), "C", np.dtype("f8")), protocol=2)[:-1] + b"A" * 8 + b"."
    outer = pickle.dumps(NumpyArrayWrapper(np.ndarray, (1,), "C", np.dtype("O")), protocol=3)[:-1]
    return outer + inner + b"."


# --- files that build objects: loaded only inside the sandbox ---------------------------------------------------

@functools.lru_cache(maxsize=1)
def _data() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X[:, :6], y


@functools.lru_cache(maxsize=1)
def _fitted_lr() -> Any:
    from sklearn.linear_model import LogisticRegression

    X, y = _data()
    return LogisticRegression(max_iter=50).fit(X / X.max(axis=0), y)


def _lr() -> Any:
    """A fresh copy of one fitted LogisticRegression (fitting is the slow part of building the corpus)."""
    return copy.deepcopy(_fitted_lr())


def _sparse_lr(index: int) -> bytes:
    from scipy import sparse

    model = _lr()
    model.coef_ = sparse.csr_matrix(model.coef_)
    model.coef_.indices[0] = index  # BUILD restores it; only check_format(full_check=True) would notice
    return pickle.dumps(model, protocol=5)


def _pipeline_sparse() -> bytes:
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    X = np.array([["a"], ["b"], ["c"], ["a"]] * 10)
    y = np.array([0, 1, 1, 0] * 10)
    model = make_pipeline(OneHotEncoder(), LogisticRegression()).fit(X, y)
    coef = sparse.csr_matrix(model[-1].coef_)
    coef.indices[:] = 2**28
    model[-1].coef_ = coef
    return pickle.dumps(model, protocol=5)


def _forged_array_dtype() -> bytes:
    """An ndarray rebuilt by BUILD with an object dtype whose flags say 'no objects': bytes become pointers."""
    from numpy._core.multiarray import _reconstruct

    forged = _forged_dtype("O8", (3, "|", None, None, None, -1, -1, 0))

    fake = _Reduce(_reconstruct, (np.ndarray, (0,), b"b"), (1, (2,), forged, False, b"\x41" * 16))
    return _with_attribute("classes_", fake)


def _with_attribute(name: str, value: Any) -> bytes:
    """A fitted LogisticRegression pickled with one attribute replaced by ``value`` (pickled, never built here)."""
    model = _fitted_lr()
    state = dict(model.__getstate__())
    state[name] = value
    return pickle.dumps(_Reduce(_copyreg_reconstructor(), (type(model), object, None), state), protocol=4)


def _copyreg_reconstructor() -> Callable[..., Any]:
    import copyreg

    return copyreg._reconstructor


def _tree_feature() -> bytes:
    from sklearn.tree import DecisionTreeClassifier

    X, y = _data()
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
    state = model.tree_.__getstate__()
    state["nodes"]["feature"][0] = 10**9
    model.tree_.__setstate__(state)
    return pickle.dumps(model, protocol=5)


def _tree_child() -> bytes:
    from sklearn.tree import DecisionTreeRegressor

    X, y = _data()
    model = DecisionTreeRegressor(max_depth=3, random_state=0).fit(X, y)
    state = model.tree_.__getstate__()
    state["nodes"]["left_child"][0] = 10**6
    model.tree_.__setstate__(state)
    return pickle.dumps(model, protocol=5)


@functools.lru_cache(maxsize=1)
def _fitted_hgb() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = _data()
    return HistGradientBoostingClassifier(max_iter=2, max_leaf_nodes=4, random_state=0).fit(X, y)


def _hgb(field: str, value: int) -> bytes:
    model = copy.deepcopy(_fitted_hgb())
    model._predictors[0][0].nodes[field][0] = value
    return pickle.dumps(model, protocol=5)


def _hgb_categorical() -> bytes:
    """Categorical splits on a feature the bin mapper calls numeric: the known-categories bitset has no row."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = _data()
    X = np.c_[X[:, :2], (X[:, 2] > np.median(X[:, 2])).astype(float)]
    model = HistGradientBoostingClassifier(max_iter=2, categorical_features=[2], random_state=0).fit(X, y)
    model._bin_mapper.is_categorical_[:] = False
    return pickle.dumps(model, protocol=5)


def _xgboost_json(key: str) -> bytes:
    import xgboost

    X, y = _data()
    model = xgboost.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y)
    document = json.loads(model.get_booster().save_raw("json"))
    tree = document["learner"]["gradient_booster"]["model"]["trees"][0]
    tree[key][0] = 10**8
    return json.dumps(document).encode()


def _lightgbm_text(drop_sizes: bool) -> bytes:
    import lightgbm

    X, y = _data()
    text = lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, y).booster_.model_to_string()
    text = re.sub(r"^split_feature=(\d+)", "split_feature=100000000", text, count=1, flags=re.M)
    if drop_sizes:
        text = re.sub(r"^tree_sizes=.*\n", "", text, flags=re.M)
    return text.encode()


def _lightgbm_pickle() -> bytes:
    import lightgbm

    X, y = _data()
    model = lightgbm.LGBMClassifier(n_estimators=3, verbose=-1).fit(X, y)
    blob = pickle.dumps(model, protocol=4)
    text = model.booster_.model_to_string()
    # Same length (the pickle's string length prefix stays right): the first split feature becomes 9s.
    forged = re.sub(r"^split_feature=(\d+)", lambda m: "split_feature=" + "9" * len(m.group(1)), text, count=1,
                    flags=re.M)
    assert forged != text and text.encode() in blob
    return blob.replace(text.encode(), forged.encode())


def _function_transformer(func_name: str) -> bytes:
    import sklearn.cluster._kmeans as kmeans
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, _ = _data()
    model = make_pipeline(FunctionTransformer(np.log1p).fit(X), _lr())
    model[0].func = getattr(kmeans, func_name)
    return pickle.dumps(model, protocol=5)


def _skops_function_transformer() -> bytes:
    import sklearn.cluster._kmeans as kmeans
    import skops.io
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    X, _ = _data()
    model = make_pipeline(FunctionTransformer(np.log1p).fit(X), _lr())
    model[0].func = kmeans._kmeans_single_lloyd
    return skops.io.dumps(model)


def _generator_ctor() -> bytes:
    from numpy.random._pickle import __generator_ctor
    from sklearn.pipeline import Pipeline

    return _with_attribute("random_state", _Reduce(__generator_ctor, ("x", Pipeline)))


def _new_obj() -> bytes:
    from sklearn.metrics._dist_metrics import newObj
    from sklearn.pipeline import Pipeline

    return _with_attribute("random_state", _Reduce(newObj, (Pipeline,)))


def _vectorizer() -> bytes:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["red fox", "blue sky", "red sky", "blue fox"]
    model = make_pipeline(CountVectorizer(), LogisticRegression()).fit(texts, [0, 1, 0, 1])
    model[0].input = "filename"
    return pickle.dumps(model, protocol=5)


def _function_label(attribute: str) -> bytes:
    from sklearn.utils.validation import check_array

    return _with_attribute(attribute, np.array([check_array, "x"], dtype=object))


def _short_scalar() -> bytes:
    from numpy._core.multiarray import scalar

    return _with_attribute("classes_", _Reduce(scalar, (np.dtype("S4096"), b"x")))


def _kd_tree() -> bytes:
    from sklearn.neighbors import KNeighborsClassifier

    X, y = _data()
    model = KNeighborsClassifier(algorithm="kd_tree").fit(X, y)
    tree = model._tree
    state = list(tree.__getstate__())
    state[1] = state[1].copy()
    state[1][0] = 10**9  # idx_array: an index into the data, trusted by the query loop
    tree.__setstate__(tuple(state))
    return pickle.dumps(model, protocol=5)


def sandbox_cases() -> list[Case]:
    """Files that build objects from allowlisted parts with forged fields: refused at load or validation."""
    builders: dict[str, Callable[[], bytes]] = {
        "sparse_coef_indices": lambda: _sparse_lr(10**9),
        "pipeline_onehot_sparse_coef": _pipeline_sparse,
        "dtype_object_flags_cleared": _forged_array_dtype,
        "tree_feature_out_of_range": _tree_feature,
        "tree_child_out_of_range": _tree_child,
        "hgb_predictor_feature": lambda: _hgb("feature_idx", 10**6),
        "hgb_predictor_child": lambda: _hgb("left", 10**6),
        "hgb_categorical_unknown_feature": _hgb_categorical,
        "xgboost_split_indices": lambda: _xgboost_json("split_indices"),
        "xgboost_left_children": lambda: _xgboost_json("left_children"),
        "lightgbm_split_feature_no_sizes": lambda: _lightgbm_text(True),
        "lightgbm_split_feature": lambda: _lightgbm_text(False),
        "lightgbm_pickled_booster": _lightgbm_pickle,
        "function_transformer_kmeans": lambda: _function_transformer("_kmeans_single_lloyd"),
        "skops_function_transformer_kmeans": _skops_function_transformer,
        "generator_ctor_with_constructor": _generator_ctor,
        "dist_metrics_newobj_other_class": _new_obj,
        "vectorizer_reads_files": _vectorizer,
        "function_in_classes": lambda: _function_label("classes_"),
        "function_in_feature_names": lambda: _function_label("feature_names_in_"),
        "numpy_scalar_short_buffer": _short_scalar,
        "kd_tree_index_out_of_range": _kd_tree,
    }
    return [Case(name, build(), REFUSED_OR_CRASHED) for name, build in builders.items()]
