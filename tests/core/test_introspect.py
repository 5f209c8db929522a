"""What a model says of itself: type, task, features, classes, encoders (no sandbox needed: tests are trusted)."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from modelwatch.core.model.introspect import describe
from modelwatch.errors import NotAModel


def test_array_classifier(forest):
    info = describe(forest)
    assert info["type"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert info["task"] == "classification" and info["classes"] == [0, 1]
    assert info["n_features"] == 30 and info["feature_names"][:2] == ["f0", "f1"]
    assert not info["feature_names_from_model"] and info["has_predict_proba"]


def test_frame_regressor(diabetes_regressor):
    info = describe(diabetes_regressor)
    assert info["task"] == "regression" and info["classes"] is None and not info["has_predict_proba"]
    assert info["feature_names"] == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    assert info["feature_names_from_model"]


def test_pipeline_encoders_and_steps(churn_pipeline):
    info = describe(churn_pipeline)
    assert [name for name, _ in info["steps"]] == ["columntransformer", "logisticregression"]
    (encoder,) = info["encoders"]
    assert encoder["columns"] == ["plan", "region"]
    assert encoder["categories"] == {"plan": ["basic", "plus", "pro"], "region": ["east", "north", "south", "west"]}


@pytest.mark.parametrize("obj", [{"a": 1}, np.arange(3), StandardScaler().fit(np.ones((3, 2)))])
def test_objects_that_do_not_predict_are_not_models(obj):
    with pytest.raises(NotAModel):
        describe(obj)
