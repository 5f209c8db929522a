"""LIME (written in core/explain/lime.py) against SHAP on the cancer forest, and its pieces on known cases."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.ensemble import RandomForestClassifier

from modelwatch.core.explain.lime import (
    N_PERTURBATIONS,
    ROWS_PER_CALL,
    add_lime,
    explain_row,
    top_agreement,
    weighted_ridge,
)
from modelwatch.core.model.introspect import describe


def test_lime_top_features_of_the_cancer_forest_agree_with_shap(cancer):
    X, y = cancer
    forest = RandomForestClassifier(n_estimators=50, random_state=0).fit(X, y)
    row = X.iloc[0]
    predicted = int(forest.predict(X.iloc[[0]])[0])
    lime = explain_row(lambda f: forest.predict_proba(f[X.columns])[:, predicted], row, X.iloc[::3],
                       np.random.default_rng(0), n_samples=3000)
    values = shap.TreeExplainer(forest).shap_values(X.iloc[[0]])[0][:, predicted]
    agreement = top_agreement(dict(zip(X.columns, values)), lime["weights"])
    assert agreement["shared"] >= 3, agreement
    assert lime["score"] > 0.3 and abs(lime["local_prediction"] - forest.predict_proba(X.iloc[[0]])[0, predicted]) < 0.3


def test_lime_recovers_which_feature_a_step_function_uses():
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({"a": rng.normal(size=400), "b": rng.normal(size=400),
                              "colour": rng.choice(["red", "blue", "green"], 400)})
    predict = lambda f: (f["b"].to_numpy() > 0.7) * 2.0 + (f["colour"] == "red").to_numpy()  # noqa: E731
    result = explain_row(predict, reference.iloc[0].copy().replace({reference.iloc[0]["b"]: 1.5}), reference,
                         np.random.default_rng(0))
    weights = result["weights"]
    assert abs(weights["a"]) < 0.1 < weights["b"]
    assert sorted(weights, key=lambda k: -abs(weights[k]))[0] == "b"


def test_weighted_ridge_matches_the_closed_form_with_no_penalty():
    rng = np.random.default_rng(0)
    X = rng.integers(0, 2, (200, 3)).astype(float)
    y = X @ [1.0, -2.0, 0.5] + 3.0
    coef, intercept, score = weighted_ridge(X, y, rng.random(200), alpha=1e-9)
    np.testing.assert_allclose(coef, [1.0, -2.0, 0.5], atol=1e-6)
    assert abs(intercept - 3.0) < 1e-6 and score > 0.999999


def test_agreement_counts_shared_top_features():
    shap_values = {"a": 3.0, "b": -2.0, "c": 1.0, "d": 0.1}
    agreement = top_agreement(shap_values, {"a": 0.3, "b": 0.1, "c": -0.2, "d": 0.0}, k=2)
    assert agreement["shared"] == 1 and agreement["top_shap"] == ["a", "b"] and agreement["top_lime"] == ["a", "c"]


def test_lime_of_several_rows_in_bounded_calls_equals_one_row_at_a_time(cancer):
    X, y = cancer
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    rows, background = X.iloc[:5].reset_index(drop=True), X.iloc[200:300].reset_index(drop=True)
    index = np.array([0, 1, 1, 0, 1])  # the explained class of each row, not always the predicted one
    calls = []

    def predict_proba(frame):
        calls.append(len(frame))
        return RandomForestClassifier.predict_proba(forest, frame)

    forest.predict_proba = predict_proba
    section = {"samples": [{"contributions": dict(zip(X.columns, np.arange(30.0)))} for _ in range(5)]}
    add_lime(section, forest, describe(forest), rows, background, index, seed=5, deadline=1e12)
    # the first row alone (it times a row), then at most ROWS_PER_CALL rows a call
    assert calls == [N_PERTURBATIONS, ROWS_PER_CALL * N_PERTURBATIONS, N_PERTURBATIONS] and ROWS_PER_CALL == 3
    assert section["lime"]["n_rows"] == 5
    rng = np.random.default_rng(5)
    for i, sample in enumerate(section["samples"]):
        alone = explain_row(lambda f, k=int(index[i]): forest.predict_proba(f[X.columns])[:, k], rows.iloc[i],
                            background, rng)
        assert sample["lime"]["weights"] == pytest.approx(alone["weights"], abs=1e-12)
        assert sample["lime"]["score"] == pytest.approx(alone["score"], abs=1e-12)
    past = {"samples": [{"contributions": {"a": 1.0}}]}
    add_lime(past, forest, describe(forest), rows, background, index, seed=5, deadline=0.0)
    assert past["lime"]["n_rows"] == 0 and "lime" not in past["samples"][0]
