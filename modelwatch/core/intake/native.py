"""XGBoost JSON/UBJ and LightGBM text model files: parsed by the libraries' own readers, inside the sandbox only."""
from __future__ import annotations

import json
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


def _lightgbm(text: str) -> Any:
    import lightgbm

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
        objective = json.loads(booster.save_config())["learner"]["objective"]["name"]
        model = (xgboost.XGBClassifier if objective.startswith(("binary:", "multi:")) else xgboost.XGBRegressor)()
        model.load_model(bytearray(data))
        return model
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise CorruptModel(f"The {fmt} model could not be read ({exc}).") from exc
    except Exception as exc:  # XGBoostError / LightGBMError carry the native parser's message
        raise CorruptModel(f"The {fmt} model could not be read ({type(exc).__name__}: {exc}).") from exc
