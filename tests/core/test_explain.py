"""Explainability on tree and linear models: additivity, the right explainer, raw-column attributions."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes, load_wine
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelwatch.core.explain.common import Budget, dense
from modelwatch.core.explain.section import compute
from modelwatch.core.explain.treeshap import Kernel
from modelwatch.core.results.jsonable import to_jsonable
from tests.core.suite_context import make_context


@pytest.fixture(scope="module")
def wine():
    X, y = load_wine(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="module")
def one_feature():
    """Only feature 0 moves the target."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 5)), columns=[f"x{i}" for i in range(5)])
    return X, 3.0 * X["x0"]


@pytest.fixture(scope="module")
def categorical():
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "color": rng.choice(["red", "green", "blue"], n), "size": rng.choice(["S", "M", "L"], n)})
    y = ((frame["a"] + 1.5 * (frame["color"] == "red") + rng.normal(scale=0.5, size=n)) > 0.5).astype(int)
    return frame, y


def _check_section(section: dict, features: list[str]) -> None:
    assert "skipped" not in section, section
    ranked = [e["mean_abs_shap"] for e in section["feature_importance"]]
    assert ranked == sorted(ranked, reverse=True)
    assert {e["feature"] for e in section["feature_importance"]} == set(features)
    for sample in section["samples"]:
        total = sample["base_value"] + sum(sample["contributions"].values())
        assert total == pytest.approx(sample["prediction"], abs=1e-6)
    json.dumps(to_jsonable(section), allow_nan=False)


def test_tree_multiclass_additivity_and_predicted_class(wine):
    X, y = wine
    model = RandomForestClassifier(n_estimators=30, random_state=0).fit(X, y)
    section = compute(make_context(model, X.iloc[:60], explain={"max_samples": 40}))
    assert section["explainer"] == "TreeExplainer"
    assert "tree" in section["why"]
    assert section["additivity_max_error"] < 1e-6
    assert section["output"] == "probability"
    _check_section(section, list(X.columns))
    assert len(section["samples"]) == 40 and "40 of the 60" in section["sampled"]
    predicted = model.predict(X.iloc[:60])
    sample = section["samples"][0]
    assert section["class"] == "predicted"
    assert sample["class"] in set(predicted.tolist())
    assert set(sample["by_class"]) == {"0", "1", "2"}
    assert sample["prediction"] == pytest.approx(sample["by_class"][str(sample["class"])]["prediction"])
    for dep in section["dependence"]:
        assert dep["interaction_feature"] in X.columns and dep["interaction_feature"] != dep["feature"]
        assert len(dep["values"]) == len(dep["shap"]) == len(dep["interaction_values"]) == 40


def test_tree_regressor_additivity():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = GradientBoostingRegressor(n_estimators=30, random_state=0).fit(X, y)
    section = compute(make_context(model, X.iloc[:50]))
    assert section["explainer"] == "TreeExplainer" and section["class"] is None
    assert section["additivity_max_error"] < 1e-6
    _check_section(section, list(X.columns))


@pytest.mark.parametrize("kind", ["forest", "linear"])
def test_only_feature_zero_matters(one_feature, kind):
    X, y = one_feature
    model = RandomForestRegressor(n_estimators=20, random_state=0) if kind == "forest" else LinearRegression()
    model.fit(X, y)
    section = compute(make_context(model, X.iloc[:100]))
    top = section["feature_importance"][0]
    total = sum(e["mean_abs_shap"] for e in section["feature_importance"])
    assert top["feature"] == "x0"
    assert top["mean_abs_shap"] / total > 0.9
    assert section["explainer"] == ("TreeExplainer" if kind == "forest" else "exact linear")


def test_linear_pipeline_per_raw_column_matches_shap(categorical):
    frame, y = categorical
    pre = make_column_transformer((StandardScaler(), ["a", "b"]), (OneHotEncoder(), ["color", "size"]))
    model = make_pipeline(pre, LogisticRegression()).fit(frame, y)
    ctx = make_context(model, frame.iloc[:80], schema={"features": []}, explain={"max_samples": 30, "background": 50})
    section = compute(ctx)
    assert section["explainer"] == "exact linear"
    assert section["method"] == "encoded columns summed back to raw columns"
    assert section["output"] == "log-odds"
    assert section["additivity_max_error"] < 1e-9
    _check_section(section, ["a", "b", "color", "size"])
    assert set(section["samples"][0]["contributions"]) == {"a", "b", "color", "size"}
    # shap's own LinearExplainer on the encoded columns, one-hot groups summed, gives the same numbers
    explained = pd.DataFrame([s["row"] for s in section["samples"]])
    encoded_names = list(pre.get_feature_names_out())
    background = dense(pre.transform(_background_of(ctx, section)))
    reference = shap.LinearExplainer(model[-1], shap.maskers.Independent(background, max_samples=len(background)))
    values = reference.shap_values(dense(pre.transform(explained)))
    for raw in ["a", "b", "color", "size"]:
        cols = [i for i, n in enumerate(encoded_names) if n.split("__")[1].split("_")[0] == raw]
        ours = np.array([s["by_class"]["1"]["contributions"][raw] for s in section["samples"]])
        assert np.allclose(values[:, cols].sum(axis=1), ours, atol=1e-9)


def _background_of(ctx, section) -> pd.DataFrame:
    """The background the section drew (same seed, same rule)."""
    from modelwatch.core.explain.section import _frames

    _, background, _, _ = _frames(ctx, list(ctx.info["feature_names"]), 30, 50, np.random.default_rng(0))
    return background


def test_kernel_matches_shap_on_two_threads(wine):
    X, y = wine
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X.to_numpy(), y)
    explainer = shap.TreeExplainer(model)
    kernel = Kernel(explainer.model, 2)
    ours = kernel.shap_values(X.to_numpy()[:30])
    assert np.allclose(ours, explainer.shap_values(X.to_numpy()[:30], check_additivity=False), atol=1e-9)
    # additivity against the model itself, not only agreement with shap
    total = explainer.expected_value[None, :] + ours.sum(axis=1)
    assert np.abs(total - model.predict_proba(X.to_numpy()[:30])).max() < 1e-6
    # threads are used only when shap's measured pace says they save time
    kernel.observe_shap(0.5)
    assert kernel.worth_it(200, Budget(60.0))
    kernel.observe_shap(1e-5)
    assert not kernel.worth_it(200, Budget(60.0))


def test_tree_budget_stops_early(wine):
    from modelwatch.core.explain.plan import choose
    from modelwatch.core.explain.tree import explain_tree

    X, y = wine
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    info = make_context(model, X).info
    att = explain_tree(choose(model, info, X), info, X, Budget(0.0))
    assert 0 < len(att.rows) < len(X)
    assert "time budget" in att.notes[0]


def test_importance_under_the_strongest_drift(one_feature):
    X, y = one_feature
    model = LinearRegression().fit(X, y)
    ctx = make_context(model, X.iloc[:100])
    ctx.results["drift"] = {"strongest": {"feature": "x0", "kind": "scale", "severity": 2.0, "seed": 0}}
    drift = compute(ctx)["drift"]
    assert drift["scenario"] == {"feature": "x0", "kind": "scale", "severity": 2.0}
    assert drift["most_changed"][0] == "x0"
    x0 = next(c for c in drift["changes"] if c["feature"] == "x0")
    # variance tripled around the mean: |3 (x - mean)| grows by about sqrt(3)
    assert x0["ratio"] == pytest.approx(np.sqrt(3.0), rel=0.05)


def test_no_strongest_scenario_skips_the_drift_part(one_feature):
    X, y = one_feature
    section = compute(make_context(LinearRegression().fit(X, y), X.iloc[:50]))
    assert "skipped" in section["drift"]


def test_tree_pipeline_sums_one_hot_columns_back(categorical):
    frame, y = categorical
    pre = make_column_transformer((OneHotEncoder(), ["color", "size"]), remainder="passthrough")
    model = make_pipeline(pre, RandomForestClassifier(n_estimators=15, random_state=0)).fit(frame, y)
    section = compute(make_context(model, frame.iloc[:60], schema={"features": []}))
    assert section["explainer"] == "TreeExplainer"
    assert section["method"] == "encoded columns summed back to raw columns"
    assert section["additivity_max_error"] < 1e-6
    _check_section(section, ["a", "b", "color", "size"])
    assert set(section["samples"][0]["contributions"]) == {"a", "b", "color", "size"}
