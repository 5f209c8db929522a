"""What every explainer returns, and the helpers they share: model unwrapping, outputs, budgets."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.model.predict import to_model_input


@dataclass
class Attribution:
    """Attributions of ``n`` rows over the raw features, for ``K`` outputs (one per class, or one).

    ``values[i, j, k]`` is feature ``j``'s share of output ``k`` on row ``i``; ``base[k] + values[i, :, k].sum()``
    equals ``output[i, k]``, the model's own output in the explained space, up to ``additivity_max_error``.
    """

    values: np.ndarray
    base: np.ndarray
    output: np.ndarray
    outputs: list[Any]
    space: str
    explainer: str
    why: str
    method: str
    rows: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def additivity_max_error(self) -> float:
        if not len(self.rows):
            return 0.0
        recon = self.base[None, :] + self.values.sum(axis=1)
        return float(np.nanmax(np.abs(recon - self.output)))


class Budget:
    """A wall-clock allowance on the monotonic clock: explainers work in chunks and stop when it is spent."""

    def __init__(self, seconds: float) -> None:
        self.start = time.monotonic()
        self.deadline = self.start + max(seconds, 0.0)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def spent(self) -> float:
        return time.monotonic() - self.start


def unwrap(model: Any) -> tuple[Any | None, Any]:
    """Split a model into (preprocessing, final estimator); nested pipelines and searches are opened."""
    model = getattr(model, "best_estimator_", model)
    if hasattr(model, "steps") and len(model.steps) > 1:
        pre = model[:-1]
        inner_pre, final = unwrap(model.steps[-1][1])
        if inner_pre is not None:
            from sklearn.pipeline import make_pipeline

            pre = make_pipeline(pre, inner_pre)
        return pre, final
    if hasattr(model, "steps"):
        return unwrap(model.steps[-1][1])
    return None, model


def type_name(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def dense(X: Any) -> np.ndarray:
    """A float array from whatever a transformer returned (frame, sparse matrix or array)."""
    if hasattr(X, "toarray"):
        X = X.toarray()
    if isinstance(X, pd.DataFrame):
        X = X.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(X, dtype=float)


def model_input(rows: pd.DataFrame, info: dict[str, Any], pre: Any | None = None) -> Any:
    """What the final estimator takes: the model's input, passed through the preprocessing when there is one."""
    X = to_model_input(rows, info)
    return pre.transform(X) if pre is not None else X


def take(X: Any, index: np.ndarray | slice) -> Any:
    """Rows of a frame, a sparse matrix or an array."""
    return X.iloc[index] if isinstance(X, pd.DataFrame) else X[index]


def as_2d(values: Any) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values.reshape(len(values), -1) if values.ndim != 2 else values


def expand_binary(att: Attribution, classes: list[Any] | None) -> Attribution:
    """Give a binary model explained on one output (the positive class) its mirror output for the other class."""
    if not classes or len(classes) != 2 or att.values.shape[2] != 1:
        return att
    if att.space == "probability":
        base0, out0 = 1.0 - att.base, 1.0 - att.output
    else:  # log-odds and margins are antisymmetric between the two classes
        base0, out0 = -att.base, -att.output
    att.values = np.concatenate([-att.values, att.values], axis=2)
    att.base = np.concatenate([base0, att.base])
    att.output = np.concatenate([out0, att.output], axis=1)
    att.outputs = list(classes)
    return att


def predicted_index(model: Any, rows: pd.DataFrame, info: dict[str, Any], att: Attribution) -> np.ndarray:
    """Per row, which output to show by default: the predicted class (the only output for regression)."""
    if att.values.shape[2] == 1:
        return np.zeros(len(rows), dtype=int)
    try:
        labels = np.asarray(model.predict(to_model_input(rows, info)))
        lookup = {str(c): k for k, c in enumerate(att.outputs)}
        index = np.array([lookup.get(str(v), -1) for v in labels])
        if (index >= 0).all():
            return index
    except Exception:  # a model whose predict fails here still has outputs to rank
        pass
    return np.asarray(att.output).argmax(axis=1)
