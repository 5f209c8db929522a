"""A schema from the model alone uses what the model knows; what nothing backs is marked assumed."""
from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, OneHotEncoder, StandardScaler

from modelwatch.core.data.synthetic import generate
from modelwatch.core.model.introspect import describe
from modelwatch.core.schema.from_model import assumed_features, schema_from_model, validate_for_model
from modelwatch.core.suite import run_suite
from tests.api.fast import FAST_CONFIG


def by_name(schema: dict) -> dict:
    return {f["name"]: f for f in schema["features"]}


def test_a_scaled_logistic_regression_gives_the_scalers_means_and_scales(frame_logistic, cancer):
    X, _ = cancer
    info = describe(frame_logistic)
    json.dumps(info["priors"], allow_nan=False)  # plain JSON, as the sandbox returns it
    schema = validate_for_model(schema_from_model(info), info)
    radius = by_name(schema)["mean radius"]
    assert radius["source"] == "model" and radius["distribution"]["kind"] == "normal"
    assert radius["distribution"]["mean"] == pytest.approx(X["mean radius"].mean())
    assert radius["distribution"]["std"] == pytest.approx(X["mean radius"].std(ddof=0))
    assert assumed_features(schema) == []
    frame = generate(schema, 4000, seed=0)
    assert frame["mean area"].mean() == pytest.approx(X["mean area"].mean(), rel=0.05)


def test_a_bare_model_with_nothing_known_is_assumed_and_the_result_says_so(cancer, tmp_path):
    X, y = cancer
    model = LogisticRegression(max_iter=200).fit(X.iloc[:, :3], y)
    info = describe(model)
    schema = validate_for_model(schema_from_model(info), info)
    assert {f["source"] for f in schema["features"]} == {"assumed"}
    assert assumed_features(schema) == list(X.columns[:3])
    (tmp_path / "model.bin").write_bytes(b"-")
    result = run_suite(model, info, {"schema": schema, "config": {**FAST_CONFIG, "drift": {"features": []}}},
                       tmp_path, lambda *_, **__: None)
    assert result["data"]["assumed_features"] == list(X.columns[:3])


def test_branches_ranges_and_trees_each_give_their_prior(churn_frame, churn_pipeline, cancer):
    X, y = cancer
    churn = by_name(schema_from_model(describe(churn_pipeline)))  # remainder=StandardScaler on tenure, monthly
    assert churn["plan"]["source"] == "model" and churn["plan"]["categories"] == ["basic", "plus", "pro"]
    assert churn["tenure"]["distribution"]["mean"] == pytest.approx(churn_frame["tenure"].mean())
    ranged = make_pipeline(SimpleImputer(), MinMaxScaler(), Ridge()).fit(X.iloc[:, :2], y)
    radius = by_name(schema_from_model(describe(ranged)))["mean radius"]
    assert (radius["min"], radius["max"]) == (X["mean radius"].min(), X["mean radius"].max())
    forest = RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0).fit(X.iloc[:, :4].to_numpy(), y)
    trees = by_name(schema_from_model(describe(forest)))
    used = {int(f) for e in forest.estimators_ for f in e.tree_.feature if f >= 0}
    assert {name for name, f in trees.items() if f["source"] == "model"} == {f"f{i}" for i in used}
    area = trees["f3"]  # mean area: split on by every tree
    assert X["mean area"].min() < area["min"] < area["max"] < X["mean area"].max()
    hist = HistGradientBoostingRegressor(max_iter=3).fit(X.iloc[:, :2], y)
    quantiles = by_name(schema_from_model(describe(hist)))["mean texture"]["distribution"]["quantiles"]
    assert np.median(quantiles) == pytest.approx(X["mean texture"].median(), rel=0.05)


def test_an_encoder_branch_does_not_hide_the_other_columns(churn_frame):
    encode = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"]),
                                ("num", make_pipeline(SimpleImputer(), StandardScaler()), ["tenure"])],
                               remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression(max_iter=300)).fit(
        churn_frame[["plan", "tenure", "monthly"]], churn_frame["churn"])
    schema = schema_from_model(describe(model))
    assert [f["source"] for f in schema["features"]] == ["model", "model", "assumed"]
    assert assumed_features(schema) == ["monthly"]
