"""What a loaded model says about itself: type, task, features, classes and the categories in its encoders.

Runs inside the sandbox; the result is plain JSON and feeds schema inference and the Run's model block.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from modelwatch.core.intake.validate import MAX_FEATURES
from modelwatch.core.model.priors import model_priors
from modelwatch.core.results.jsonable import to_jsonable, type_name
from modelwatch.errors import CorruptModel, NotAModel

_SCALARS = (str, int, float, bool)


def _jsonable(values: Any) -> list[Any]:
    """Plain scalars of an array or list; anything else becomes its type's name (never its ``str()``)."""
    return [to_jsonable(v) for v in np.asarray(values, dtype=object).ravel().tolist()]


def _scalars(values: Any, what: str) -> list[Any]:
    """Feature names or class labels: a flat sequence of plain scalars, else the model is refused."""
    items = np.asarray(values, dtype=object)
    if items.ndim != 1:
        raise CorruptModel(f"The model's {what} are not a flat list.", {"attribute": what})
    found = [v.item() if isinstance(v, np.generic) else v for v in items.tolist()]
    if not all(isinstance(v, _SCALARS) for v in found):
        raise CorruptModel(f"The model's {what} hold values that are not plain strings or numbers.",
                           {"attribute": what})
    return found


def _classes(classes: Any) -> list[Any]:
    """Class labels; a multi-output classifier has one array of labels per output."""
    if isinstance(classes, list) and classes and all(isinstance(c, np.ndarray) for c in classes):
        return [_scalars(c, "class labels") for c in classes]
    return _scalars(classes, "class labels")


def _final_estimator(model: Any) -> Any:
    while hasattr(model, "steps"):
        model = model.steps[-1][1]
    return getattr(model, "best_estimator_", model)


def _task(model: Any) -> str:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model) or hasattr(_final_estimator(model), "classes_"):
        return "classification"
    if is_regressor(model):
        return "regression"
    return "regression"


def _encoders(model: Any) -> list[dict[str, Any]]:
    """Categories held by OneHotEncoder / OrdinalEncoder, and the raw columns each transformer takes."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline

    found: list[dict[str, Any]] = []

    def visit(obj: Any, columns: list[Any] | None) -> None:
        if isinstance(obj, Pipeline):
            for _, step in obj.steps:
                visit(step, columns)
        elif isinstance(obj, ColumnTransformer):
            for _name, transformer, cols in getattr(obj, "transformers_", obj.transformers):
                if isinstance(cols, str):
                    cols = [cols]
                elif not isinstance(cols, slice):
                    cols = _jsonable(cols)
                visit(transformer, cols if isinstance(cols, list) else None)
        elif hasattr(obj, "categories_") and columns is not None:
            found.append({
                "transformer": f"{type(obj).__module__}.{type(obj).__qualname__}",
                "columns": [to_jsonable(c) if isinstance(c, _SCALARS) else type_name(c) for c in columns],
                "categories": {str(to_jsonable(c)) if isinstance(c, _SCALARS) else type_name(c): _jsonable(cats)
                               for c, cats in zip(columns, obj.categories_)},
            })

    visit(model, None)
    return found


def describe(model: Any, priors: bool = True) -> dict[str, Any]:
    """Describe a model for the Run's model block and, with ``priors`` (``with_priors``), for schema inference.

    Raises:
        NotAModel: the object has no ``predict``.
    """
    if not callable(getattr(model, "predict", None)):
        kind = f"{type(model).__module__}.{type(model).__qualname__}"
        raise NotAModel(f"The file holds a {kind}, not a model with predict().", {"type": kind})
    names = getattr(model, "feature_names_in_", None)
    n_features = getattr(model, "n_features_in_", None)
    names = _scalars(names, "feature names") if names is not None else None
    if n_features is None and names is not None:
        n_features = len(names)
    if n_features is None:
        raise NotAModel("The model does not say how many features it takes (no n_features_in_); is it fitted?")
    if not isinstance(n_features, (int, np.integer)) or not 0 < int(n_features) <= MAX_FEATURES:
        raise CorruptModel("The model's number of features is implausible.", {"attribute": "n_features_in_"})
    task = _task(model)
    classes = getattr(model, "classes_", None)
    steps = [[name, f"{type(step).__module__}.{type(step).__qualname__}"] for name, step in getattr(model, "steps", [])]
    info = {
        "type": f"{type(model).__module__}.{type(model).__qualname__}",
        "task": task,
        "n_features": int(n_features),
        "feature_names": [str(n) for n in names] if names is not None else [f"f{i}" for i in range(int(n_features))],
        "feature_names_from_model": names is not None,
        "classes": _classes(classes) if task == "classification" and classes is not None else None,
        "has_predict_proba": callable(getattr(model, "predict_proba", None)) and task == "classification",
        "has_decision_function": callable(getattr(model, "decision_function", None)),
        "steps": steps,
        "encoders": _encoders(model),
    }
    if callable(getattr(model, "describe_onnx", None)):
        info.update(model.describe_onnx())  # an ONNX graph's signature and its OneHotEncoders' categories
    return with_priors(model, info) if priors else info


def with_priors(model: Any, info: dict[str, Any]) -> dict[str, Any]:
    """``info`` with what the model knows of its inputs (``model.priors``), which a schema inferred from the model
    uses; only that needs it (an XGBoost model's trees take ~25 ms to read)."""
    return {**info, "priors": model_priors(model, info["feature_names"])}
