"""The model-agnostic path: string categories through shap's masker, additivity, the time budget, the fallback."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import make_column_transformer
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from modelwatch.core.explain.agnostic import _warm_up
from modelwatch.core.explain.section import compute
from tests.core.suite_context import make_context

# the tests that request `warm` are marked slow: shap's masking compiles with numba on first use (~10 s)


@pytest.fixture(scope="module")
def warm():
    """shap compiles its masking with numba on first use (~10 s); pay it once for this module."""
    _warm_up()


@pytest.fixture(scope="module")
def categorical():
    rng = np.random.default_rng(1)
    n = 200
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "color": rng.choice(["red", "green", "blue"], n)})
    y = ((frame["a"] + 1.5 * (frame["color"] == "red") + rng.normal(scale=0.5, size=n)) > 0.5).astype(int)
    return frame, y


class SlowClassifier(ClassifierMixin, BaseEstimator):
    """A classifier that takes ``delay`` seconds per call: the explainer must still keep its time budget."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X):
        time.sleep(self.delay)
        p = 1 / (1 + np.exp(-np.asarray(X, dtype=float)[:, 0]))
        return np.c_[1 - p, p]

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


class LabelsOnly(ClassifierMixin, BaseEstimator):
    """Predicts labels and nothing SHAP could attribute."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X):
        return self.classes_[(np.asarray(X, dtype=float)[:, 0] > 0).astype(int)]


@pytest.mark.slow
def test_pipeline_with_strings_is_explained_over_raw_columns(warm, categorical):
    frame, y = categorical
    pre = make_column_transformer((StandardScaler(), ["a", "b"]), (OneHotEncoder(), ["color"]))
    model = make_pipeline(pre, KNeighborsClassifier(n_neighbors=5)).fit(frame, y)
    section = compute(make_context(model, frame.iloc[:40], schema={"features": []},
                                   explain={"max_samples": 4, "background": 15}))
    assert section["explainer"] == "PermutationExplainer"
    assert section["method"] == "whole pipeline over raw inputs"
    assert section["additivity_max_error"] < 1e-3
    assert {e["feature"] for e in section["feature_importance"]} == {"a", "b", "color"}
    assert section["samples"][0]["row"]["color"] in {"red", "green", "blue"}
    for sample in section["samples"]:
        assert sample["base_value"] + sum(sample["contributions"].values()) == pytest.approx(sample["prediction"],
                                                                                               abs=1e-3)


@pytest.mark.slow
def test_mixing_preprocessing_goes_model_agnostic(warm, categorical):
    frame, y = categorical
    from sklearn.linear_model import LogisticRegression

    model = make_pipeline(PolynomialFeatures(2), LogisticRegression()).fit(frame[["a", "b"]], y)
    section = compute(make_context(model, frame[["a", "b"]].iloc[:30], explain={"max_samples": 3, "background": 10}))
    assert section["explainer"] == "PermutationExplainer"
    assert "mixes raw columns" in section["why"]
    assert section["additivity_max_error"] < 1e-3


@pytest.mark.slow
def test_slow_model_keeps_the_time_budget(warm):
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 4)), columns=list("abcd"))
    model = SlowClassifier(delay=0.05).fit(X.to_numpy(), (X["a"] > 0).astype(int))
    ctx = make_context(model, X)
    ctx.deadline = time.monotonic() + 6.0
    started = time.monotonic()
    section = compute(ctx)
    assert time.monotonic() - started < 6.0
    assert ctx.seconds_left() > 0
    assert section["explainer"] == "PermutationExplainer"
    assert section["n_explained"] < 60
    assert "time budget" in section["sampled"]


def test_labels_only_model_falls_back_to_permutation_importance():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(100, 3)), columns=list("abc"))
    model = LabelsOnly().fit(X.to_numpy(), (X["a"] > 0).astype(int))
    section = compute(make_context(model, X))
    assert section["explainer"].startswith("permutation importance")
    assert "fallback" in section["explainer"]
    assert section["feature_importance"][0]["feature"] == "f0"  # fitted on an array: positional names
    assert section["samples"] == [] and section["base_value"] is None
    assert section["rows_source"]["name"] == "synthetic"  # no labelled sample: ranked on the generated rows
