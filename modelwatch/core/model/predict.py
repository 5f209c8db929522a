"""Turn a frame into what a model takes, and call it the way its introspection says it wants."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def wants_frame(info: dict[str, Any]) -> bool:
    """A model fitted on a DataFrame (it has ``feature_names_in_``) is called with one."""
    return bool(info.get("feature_names_from_model"))


def to_model_input(frame: pd.DataFrame, info: dict[str, Any]) -> pd.DataFrame | np.ndarray:
    """Select and order the model's features; a model fitted on arrays gets a float array."""
    names = info.get("feature_names") or list(frame.columns)
    frame = frame[names]
    if wants_frame(info):
        return frame
    return frame.to_numpy(dtype=float, na_value=np.nan)


def predict_output(model: Any, X: Any, info: dict[str, Any]) -> np.ndarray:
    """The model's main numeric output: class probabilities when it has them, else ``predict``."""
    if info.get("task") == "classification" and info.get("has_predict_proba"):
        return np.asarray(model.predict_proba(X))
    return np.asarray(model.predict(X))
