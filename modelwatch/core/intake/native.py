"""XGBoost JSON/UBJ and LightGBM text model files: parsed by the libraries' own readers, inside the sandbox only."""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from modelwatch.errors import CorruptModel


class _LightGBMText(BaseEstimator):
    """A LightGBM ``Booster`` read from a text model, with the scikit-learn face the rest of modelwatch expects."""

    def __init__(self, booster: Any = None) -> None:
        self.booster = booster
        self.n_features_in_ = booster.num_feature() if booster is not None else 0

    def _raw(self, X: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(np.asarray(X, dtype=float)))


class LightGBMTextRegressor(RegressorMixin, _LightGBMText):
    """A regression (or ranking) LightGBM text model."""

    def predict(self, X: Any) -> np.ndarray:
        return self._raw(X)


class LightGBMTextClassifier(ClassifierMixin, _LightGBMText):
    """A binary or multi-class LightGBM text model; classes are 0..k-1 as LightGBM numbers them."""

    def __init__(self, booster: Any = None) -> None:
        super().__init__(booster)
        n = booster.num_model_per_iteration() if booster is not None else 1
        self.classes_ = np.arange(max(n, 2))

    def predict_proba(self, X: Any) -> np.ndarray:
        raw = self._raw(X)
        return np.c_[1 - raw, raw] if raw.ndim == 1 else raw

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _bad(fmt: str, what: str) -> CorruptModel:
    return CorruptModel(f"The {fmt} model is malformed: {what}.", {"problem": what})


def _ints(fields: dict[str, str], key: str, count: int, fmt: str) -> np.ndarray:
    try:
        values = np.array(fields.get(key, "").split(), dtype=np.int64) if count else np.zeros(0, np.int64)
    except (ValueError, OverflowError) as exc:
        raise _bad(fmt, f"{key} is not a list of integers") from exc
    if len(values) != count:
        raise _bad(fmt, f"{key} has {len(values)} entries, not {count}")
    return values


def _check_children(left: np.ndarray, right: np.ndarray, n_inner: int, n_leaves: int, fmt: str) -> None:
    """Inner children come after their parent and inside the node list; leaf children are ~leaf in range."""
    index = np.arange(len(left))
    for child in (left, right):
        inner = child >= 0
        if np.any(inner & ((child <= index) | (child >= n_inner))) or np.any(~inner & (~child >= n_leaves)):
            raise _bad(fmt, "a node's child index is out of range")


def check_lightgbm_text(text: str) -> None:
    """Check a LightGBM text model before LightGBM parses it: ``tree_sizes`` present and matching each tree,
    every split feature inside ``max_feature_idx``, children and categorical boundaries inside their arrays.

    Raises:
        CorruptModel: naming what was wrong.
    """
    fmt = "lightgbm-text"
    starts = [m.start() for m in re.finditer(r"^Tree=\d+$", text, re.M)]
    end = text.find("end of trees")
    header = dict(line.split("=", 1) for line in text[:starts[0] if starts else len(text)].splitlines() if "=" in line)
    if "tree_sizes" not in header:
        raise _bad(fmt, "the header has no tree_sizes")
    try:
        sizes = [int(n) for n in header["tree_sizes"].split()]
        max_feature = int(header["max_feature_idx"])
    except (KeyError, ValueError) as exc:
        raise _bad(fmt, "tree_sizes or max_feature_idx is malformed") from exc
    if end < 0 or len(sizes) != len(starts) or sizes != [b - a for a, b in zip(starts, starts[1:] + [end])]:
        raise _bad(fmt, "tree_sizes does not match the trees")
    for start, size in zip(starts, sizes):
        fields = dict(line.split("=", 1) for line in text[start:start + size].splitlines() if "=" in line)
        _check_lightgbm_tree(fields, max_feature, fmt)


def _check_lightgbm_tree(fields: dict[str, str], max_feature: int, fmt: str) -> None:
    try:
        n_leaves, n_cat = int(fields["num_leaves"]), int(fields.get("num_cat", "0"))
    except (KeyError, ValueError) as exc:
        raise _bad(fmt, "a tree has no valid num_leaves") from exc
    if not 1 <= n_leaves <= 1 << 24 or not 0 <= n_cat <= n_leaves:
        raise _bad(fmt, "a tree has an implausible number of leaves")
    n_inner = n_leaves - 1
    features = _ints(fields, "split_feature", n_inner, fmt)
    if np.any((features < 0) | (features > max_feature)):
        raise _bad(fmt, "a split feature is out of range")
    _check_children(_ints(fields, "left_child", n_inner, fmt), _ints(fields, "right_child", n_inner, fmt),
                    n_inner, n_leaves, fmt)
    if "leaf_features" in fields:
        raise _bad(fmt, "linear trees are not accepted")
    if n_cat:
        bounds = _ints(fields, "cat_boundaries", n_cat + 1, fmt)
        n_words = len(fields.get("cat_threshold", "").split())
        if bounds[0] != 0 or np.any(np.diff(bounds) < 0) or bounds[-1] != n_words:
            raise _bad(fmt, "the categorical boundaries are out of range")
        decision = _ints(fields, "decision_type", n_inner, fmt)
        try:
            thresholds = np.array(fields.get("threshold", "").split(), dtype=float)[(decision & 1) == 1]
        except (ValueError, IndexError) as exc:
            raise _bad(fmt, "the thresholds are malformed") from exc
        if np.any((thresholds < 0) | (thresholds >= n_cat)):
            raise _bad(fmt, "a categorical split is out of range")


def check_xgboost_booster(booster: Any) -> None:
    """An XGBoost Booster, checked against its own JSON dump: every tree's arrays consistent, splits in range.

    Raises:
        CorruptModel: naming what was wrong.
    """
    fmt = "xgboost"
    try:
        learner = json.loads(bytes(booster.save_raw(raw_format="json")))["learner"]
        n_features = int(learner["learner_model_param"]["num_feature"])
        model = learner["gradient_booster"].get("model") or learner["gradient_booster"].get("gbtree", {}).get("model")
        trees = (model or {}).get("trees", [])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise _bad(fmt, "its structure cannot be read") from exc
    for tree in trees:
        try:
            n = int(tree["tree_param"]["num_nodes"])
            left, right = np.array(tree["left_children"], np.int64), np.array(tree["right_children"], np.int64)
            split = np.array(tree["split_indices"], np.int64)
        except (KeyError, ValueError, TypeError, OverflowError) as exc:
            raise _bad(fmt, "a tree's arrays cannot be read") from exc
        if not (len(left) == len(right) == len(split) == n):
            raise _bad(fmt, "a tree's arrays have inconsistent lengths")
        inner = left != -1
        index = np.arange(n)
        if np.any(inner != (right != -1)) or np.any(inner & ((left <= index) | (left >= n) | (right <= index)
                                                             | (right >= n))):
            raise _bad(fmt, "a node's child index is out of range")
        if np.any(inner & ((split < 0) | (split >= n_features))):
            raise _bad(fmt, "a split feature is out of range")
        segments, sizes, nodes = (np.array(tree.get(key) or [], np.int64) for key in
                                  ("categories_segments", "categories_sizes", "categories_nodes"))
        if len(segments) != len(sizes) or np.any(segments + sizes > len(tree.get("categories") or [])) or \
                np.any((nodes < 0) | (nodes >= n)):
            raise _bad(fmt, "the categorical splits are out of range")


def _lightgbm(text: str) -> Any:
    import lightgbm

    check_lightgbm_text(text)
    booster = lightgbm.Booster(model_str=text)
    objective = str(booster.dump_model(num_iteration=0).get("objective", "regression")).split()[0]
    if objective in ("binary", "multiclass", "multiclassova", "cross_entropy"):
        return LightGBMTextClassifier(booster)
    return LightGBMTextRegressor(booster)


def load_native(data: bytes, fmt: str) -> Any:
    """Read an XGBoost or LightGBM native model into an object with ``predict``.

    Raises:
        CorruptModel: the library's reader refused the bytes.
    """
    try:
        if fmt == "lightgbm-text":
            return _lightgbm(data.decode("utf-8"))
        import xgboost

        booster = xgboost.Booster()
        booster.load_model(bytearray(data))
        check_xgboost_booster(booster)
        objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
        model = (xgboost.XGBClassifier if objective.startswith(("binary:", "multi:")) else xgboost.XGBRegressor)()
        model.load_model(bytearray(data))
        return model
    except CorruptModel:
        raise
    except Exception as exc:  # XGBoostError / LightGBMError quote the file: only their type is reported
        raise CorruptModel(f"The {fmt} model could not be read ({type(exc).__name__}).",
                           {"type": type(exc).__name__}) from exc
