"""Robustness section and the edge-case set: known behaviours of real scikit-learn models."""
from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from threadpoolctl import threadpool_limits

from modelwatch.core.checks import outcomes, robustness
from modelwatch.core.data.edge_cases import KINDS, edge_cases, feature_edge_cases, feature_range
from tests.core.suite_context import make_context, schema_from_frame

FEATURES = ["mean radius", "mean texture", "mean area", "worst smoothness"]


def by_name(result):
    return {case["name"]: case for case in result["cases"]}


@pytest.fixture(autouse=True)
def one_thread():
    """OpenMP models (HistGradientBoosting) crawl when many threads fight over a busy machine's cores."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def small_cancer(cancer):
    X, y = cancer
    return X[FEATURES], y


def test_feature_range_and_ten_times_beyond():
    feature = {"name": "x", "type": "float", "min": 2.0, "max": 6.0}
    assert feature_range(feature) == (2.0, 6.0)
    values = {c["kind"]: c["value"] for c in feature_edge_cases(feature)}
    assert values["above_range"] == 6.0 + 10 * 4.0 and values["below_range"] == 2.0 - 10 * 4.0
    assert values["min"] == 2.0 and values["max"] == 6.0
    assert math.isnan(values["nan"]) and values["+inf"] == math.inf and values["-inf"] == -math.inf
    assert isinstance(values["string_in_numeric"], str)
    # no bounds: the distribution's mean +- 3 std
    assert feature_range({"name": "y", "type": "float", "distribution": {"kind": "normal", "mean": 1, "std": 2}}) \
        == (-5.0, 7.0)


def test_edge_cases_by_type_and_validity():
    schema = {"features": [
        {"name": "n", "type": "int", "min": 0, "max": 10, "nullable": True},
        {"name": "c", "type": "categorical", "categories": ["a", "b"]},
        {"name": "codes", "type": "categorical", "categories": [1, 2, 3]},
        {"name": "flag", "type": "bool"},
    ]}
    cases = edge_cases(schema)
    kinds = {f: [c["kind"] for c in cases if c["feature"] == f] for f in ("n", "c", "codes", "flag")}
    assert kinds["n"] == ["nan", "+inf", "-inf", "above_range", "below_range", "min", "max", "string_in_numeric"]
    assert kinds["c"] == kinds["codes"] == ["nan", "unseen_category"]
    assert kinds["flag"] == ["nan", "string_in_numeric"]
    unseen = {c["feature"]: c["value"] for c in cases if c["kind"] == "unseen_category"}
    assert unseen["c"] not in ("a", "b") and unseen["codes"] not in (1, 2, 3) and isinstance(unseen["codes"], int)
    valid = {c["name"]: c["valid"] for c in cases}
    assert valid["nan:n"] and valid["min:n"] and not valid["nan:c"] and not valid["+inf:n"]
    assert all(c["kind"] in KINDS for c in cases)
    assert [c["kind"] for c in edge_cases(schema, ["nan"])] == ["nan"] * 4


def test_hist_gradient_boosting_accepts_nan_logistic_regression_rejects_it(small_cancer):
    X, y = small_cancer
    data = X.sample(200, random_state=0).reset_index(drop=True)
    hgb = robustness.compute(make_context(HistGradientBoostingClassifier(max_iter=30).fit(X, y), data))
    logistic = robustness.compute(make_context(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), data))
    for name in FEATURES:
        assert by_name(hgb)[f"nan:{name}"]["status"] in ("ok", "degraded")
        case = by_name(logistic)[f"nan:{name}"]
        assert case["status"] == "error" and "NaN" in case["message"]
    # neither accepts a string in a numeric column
    assert by_name(hgb)["string_in_numeric:mean area"]["status"] == "error"
    assert by_name(logistic)["string_in_numeric:mean area"]["status"] == "error"


def test_counts_and_batch_shape_cases(small_cancer):
    X, y = small_cancer
    data = X.head(100)
    result = robustness.compute(make_context(make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y), data))
    assert result["total"] == len(result["cases"])
    assert result["passed"] == sum(c["status"] == "ok" for c in result["cases"])
    cases = by_name(result)
    assert cases["baseline"]["status"] == "ok"
    assert cases["single_row"]["status"] == "ok" and cases["single_row"]["shift"] == pytest.approx(0.0)
    assert cases["empty_batch"]["status"] == "error"  # scikit-learn refuses 0 samples
    assert cases["column_order"]["status"] == "error"  # fitted on a DataFrame: names must come in order
    assert cases["min:mean area"]["status"] == "ok"  # boundaries are valid: never "degraded"
    assert {c["status"] for c in result["cases"]} <= {"ok", "error", "degraded"}


def test_array_models_get_no_column_order_case(forest, cancer):
    result = robustness.compute(make_context(forest, cancer[0].head(50)))
    assert "column_order" not in by_name(result)
    assert by_name(result)["nan:f0"]["status"] in ("ok", "degraded")  # forests handle NaN since sklearn 1.4


def test_linear_extrapolation_is_degraded_a_forest_is_not():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    data = X.sample(200, random_state=0).reset_index(drop=True)
    schema = schema_from_frame(X)
    linear = by_name(robustness.compute(make_context(LinearRegression().fit(X, y), data, schema)))
    forest = by_name(robustness.compute(make_context(
        RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0).fit(X, y), data, schema)))
    case = linear["above_range:bmi"]
    assert case["status"] == "degraded" and case["shift"] > robustness.TOLERANCE["regression_std"]
    assert linear["+inf:bmi"]["status"] == "error"
    # a tree clamps: ten ranges out gives the same answer as the maximum
    assert forest["above_range:bmi"]["shift"] == pytest.approx(forest["max:bmi"]["shift"])
    assert forest["above_range:bmi"]["shift"] < case["shift"]


def test_unseen_category_depends_on_the_encoder(churn_frame):
    X, y = churn_frame.drop(columns="churn"), churn_frame["churn"]
    schema = {"schema_version": 1, "target": None, "features": [
        {"name": "plan", "type": "categorical", "categories": ["basic", "plus", "pro"]},
        {"name": "region", "type": "categorical", "categories": ["north", "south", "east", "west"]},
        {"name": "tenure", "type": "float", "min": 1, "max": 71},
        {"name": "monthly", "type": "float", "min": 0, "max": 100},
    ]}
    results = {}
    for handle in ("ignore", "error"):
        encode = ColumnTransformer([("cat", OneHotEncoder(handle_unknown=handle), ["plan", "region"])],
                                   remainder=StandardScaler())
        model = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(X, y)
        results[handle] = by_name(robustness.compute(make_context(model, X.head(60), schema)))
    assert results["ignore"]["unseen_category:plan"]["status"] in ("ok", "degraded")
    assert results["error"]["unseen_category:plan"]["status"] == "error"
    assert "unknown categor" in results["error"]["unseen_category:plan"]["message"].lower()
    assert results["ignore"]["string_in_numeric:tenure"]["status"] == "error"


def test_output_shift_definitions():
    base = np.array([[0.9, 0.1], [0.2, 0.8]])
    shift, tol, _ = robustness.output_shift(base, np.array([[0.1, 0.9], [0.2, 0.8]]), 1.0)
    assert shift == pytest.approx(0.4) and tol == robustness.TOLERANCE["probability_tv"]
    shift, _, _ = robustness.output_shift(np.array(["a", "b"]), np.array(["a", "a"]), 1.0)
    assert shift == 0.5
    shift, tol, _ = robustness.output_shift(np.array([1.0, 2.0]), np.array([3.0, 2.0]), 2.0)
    assert shift == pytest.approx(0.5) and tol == robustness.TOLERANCE["regression_std"]


def test_outcome_tells_a_correct_rejection_from_a_crash_and_a_silent_answer():
    assert robustness.outcome("error", valid=False) == "rejected"
    assert robustness.outcome("error", valid=True) == "crashed"
    assert robustness.outcome("degraded", valid=False) == robustness.outcome("degraded", valid=True) == "degraded"
    assert robustness.outcome("ok", valid=False) == "ok"
    assert set(robustness.OUTCOMES) == {"ok", "rejected", "degraded", "crashed"}


def test_nan_in_a_nullable_feature_is_valid_input_and_crashing_on_it_fails_the_verdict(small_cancer):
    from modelwatch.core.results import verdict

    X, y = small_cancer
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)  # raises on NaN
    data = X.head(60).reset_index(drop=True)
    schema = schema_from_frame(data)
    strict_section = robustness.compute(make_context(model, data, schema))
    strict = by_name(strict_section)
    assert strict["nan:mean area"]["outcome"] == "rejected" and not strict["nan:mean area"]["valid"]
    assert strict["+inf:mean area"]["outcome"] == "rejected"
    assert strict["empty_batch"]["outcome"] == strict["column_order"]["outcome"] == "rejected"
    assert strict["baseline"]["outcome"] == strict["min:mean area"]["outcome"] == "ok"
    schema["features"][2]["nullable"] = True  # production sends missing mean areas: NaN there is valid
    result = robustness.compute(make_context(model, data, schema))
    cases = by_name(result)
    assert cases["nan:mean area"]["outcome"] == "crashed" and cases["nan:mean area"]["valid"]
    assert cases["nan:mean radius"]["outcome"] == "rejected"
    assert sum(result["outcomes"].values()) == result["total"] and result["outcomes"]["crashed"] == 1
    assert result["passed"] == result["outcomes"]["ok"]  # the contract's count is unchanged
    counts = result["outcomes"]
    assert result["handled_rate"] == pytest.approx((counts["ok"] + counts["rejected"]) / result["total"])
    # every error of the strict schema is a correct rejection: handled, though passed / total counts it as a miss
    assert strict_section["outcomes"]["crashed"] == 0 and strict_section["outcomes"]["rejected"] > 0
    assert strict_section["handled_rate"] > strict_section["passed"] / strict_section["total"]
    found = verdict.robustness({"robustness": result})
    assert found["status"] == "fail" and "nan:mean area" in found["reason"]
    # the same model where every error is a correct rejection: nothing counts against it
    assert verdict.robustness({"robustness": strict_section})["status"] in ("pass", "warn")


def test_handled_rate_counts_ok_and_rejected_cases_and_older_results_are_counted_from_their_cases():
    stored = {"outcomes": {"ok": 6, "rejected": 3, "degraded": 1, "crashed": 0}}
    assert outcomes.counts(stored) == {"crashed": 0, "degraded": 1, "rejected": 3, "ok": 6}  # worst first
    assert outcomes.handled_rate(outcomes.counts(stored)) == pytest.approx(0.9)
    assert outcomes.handled_rate(outcomes.counts({"cases": []})) is None  # no cases: no rate, not 0 or 1
    older = {"cases": [{"name": "baseline", "status": "ok"}, {"name": "nan:a", "kind": "nan", "status": "error"},
                       {"name": "max:a", "kind": "max", "status": "error"},
                       {"name": "single_row", "status": "error"}]}
    assert outcomes.counts(older) == {"crashed": 2, "degraded": 0, "rejected": 1, "ok": 1}
    assert outcomes.handled_rate(outcomes.counts(older)) == pytest.approx(0.5)
    assert outcomes.summary(outcomes.counts(older)) == ("2 crashed on valid input · 0 silently degraded · "
                                                        "1 rejected with a clear error · 1 ok")
    assert set(outcomes.LABELS) == set(outcomes.WORST_FIRST) == set(outcomes.OUTCOMES)
    assert set(outcomes.HANDLED) | set(outcomes.MISSES) == set(outcomes.OUTCOMES)


@pytest.mark.parametrize("which", ["linear regression", "churn pipeline"])
def test_cases_stacked_in_one_call_per_kind_equal_one_call_per_case(which, churn_frame):
    """Valid inputs of a kind share one call; a call that raises falls back to one call per case, so every
    rejection stays attributed to its own case: both give each case the outcome it gets alone."""
    if which == "linear regression":  # degraded cases (extrapolation) and rejected ones (infinities, strings)
        X, y = load_diabetes(return_X_y=True, as_frame=True)
        model, data, schema = LinearRegression().fit(X, y), X.head(100), schema_from_frame(X)
    else:  # unseen categories rejected by the encoder, strings in numbers, NaN
        X, y = churn_frame.drop(columns="churn"), churn_frame["churn"]
        encode = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="error"), ["plan", "region"])],
                                   remainder=StandardScaler())
        model, data = make_pipeline(encode, LogisticRegression(max_iter=500)).fit(X, y), X.head(60)
        schema = {"schema_version": 1, "target": None, "features": [
            {"name": "plan", "type": "categorical", "categories": ["basic", "plus", "pro"]},
            {"name": "region", "type": "categorical", "categories": ["north", "south", "east", "west"]},
            {"name": "tenure", "type": "float", "min": 1, "max": 71},
            {"name": "monthly", "type": "float", "min": 0, "max": 100}]}
    ctx = make_context(model, data, schema)
    stacked = by_name(robustness.compute(ctx))
    runner = robustness._Runner(model, ctx.info, robustness._base_rows(ctx), 1.0)
    runner.baseline = runner.predict(runner.base)
    runner.scale = robustness._prediction_scale(runner, ctx.data)
    alone = [runner.run_group([case])[0] for case in edge_cases(ctx.schema, robustness.CASE_KINDS)]
    assert {c["outcome"] for c in alone} >= {"ok", "rejected"} and len(alone) > 10
    for case in alone:
        got = stacked[case["name"]]
        assert (got["status"], got["outcome"], got["valid"]) == (case["status"], case["outcome"], case["valid"])
        assert ("shift" in got) == ("shift" in case)
        assert got.get("shift", 0.0) == pytest.approx(case.get("shift", 0.0), rel=1e-9, abs=1e-12)
        if case["status"] == "error":
            assert got["message"] == case["message"]
