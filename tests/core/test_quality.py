"""Quality section: metrics against scikit-learn, the vectorised bootstrap, and one run through the sandbox."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.datasets import load_diabetes, load_wine
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from modelwatch.core.checks import bootstrap, quality
from modelwatch.core.model.introspect import describe
from modelwatch.core.sandbox.runner import Limits, run_task
from tests.core.suite_context import make_context, schema_from_frame
from tests.support import dumps


@pytest.fixture(scope="module")
def binary(cancer):
    X, y = cancer
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=500)).fit(X.iloc[::2], y.iloc[::2])
    return model, X.iloc[1::2], y.iloc[1::2].to_numpy()


@pytest.fixture(scope="module")
def multiclass():
    X, y = load_wine(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=500)).fit(X.iloc[::2], y.iloc[::2])
    return model, X.iloc[1::2], y.iloc[1::2].to_numpy()


def test_binary_metrics_equal_sklearn(binary):
    model, X, y = binary
    result = quality.evaluate(model, describe(model), X.assign(label=y), "label", n_boot=200)
    pred, proba = model.predict(X), model.predict_proba(X)
    m = result["metrics"]
    assert result["task"] == "classification" and result["n_rows"] == len(y)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["precision_macro"] == pytest.approx(skm.precision_score(y, pred, average="macro"))
    assert m["recall_macro"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba[:, 1]))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, proba[:, 1]))
    assert result["confusion_matrix"]["matrix"] == skm.confusion_matrix(y, pred).tolist()
    f1 = skm.f1_score(y, pred, average=None)
    assert [result["per_class"][c]["f1"] for c in ("0", "1")] == pytest.approx(f1.tolist())
    frac, mean = calibration_curve(y, proba[:, 1], n_bins=10)
    assert result["curves"]["calibration"]["fraction_positive"] == pytest.approx(frac.tolist())
    assert result["curves"]["calibration"]["mean_predicted"] == pytest.approx(mean.tolist())
    roc = result["curves"]["roc"]["1"]
    assert roc["auc"] == pytest.approx(m["roc_auc"]) and len(roc["fpr"]) <= quality.MAX_CURVE_POINTS
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0
    pr = result["curves"]["pr"]["1"]
    assert pr["average_precision"] == pytest.approx(skm.average_precision_score(y, proba[:, 1]))


def test_multiclass_metrics_equal_sklearn(multiclass):
    model, X, y = multiclass
    result = quality.evaluate(model, describe(model), X.assign(label=y), "label", n_boot=200)
    pred, proba = model.predict(X), model.predict_proba(X)
    m = result["metrics"]
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba, multi_class="ovr"))
    assert m["brier"] == pytest.approx(skm.brier_score_loss(y, proba, labels=[0, 1, 2]))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    assert set(result["curves"]["roc"]) == {"0", "1", "2"}
    assert result["curves"]["calibration"]["kind"] == "top_label"
    assert np.array(result["confusion_matrix"]["matrix"]).sum() == len(y)


def test_decision_function_gives_auc_without_probabilities(cancer, multiclass):
    X, y = cancer
    svm = make_pipeline(StandardScaler(), LinearSVC(C=0.01)).fit(X.iloc[::2], y.iloc[::2])
    Xt, yt = X.iloc[1::2], y.iloc[1::2].to_numpy()
    result = quality.evaluate(svm, describe(svm), Xt.assign(label=yt), "label", n_boot=200)
    assert result["metrics"]["roc_auc"] == pytest.approx(skm.roc_auc_score(yt, svm.decision_function(Xt)))
    assert "log_loss" not in result["metrics"] and "calibration" not in result["curves"]
    low, high = result["ci"]["roc_auc"]
    assert low <= result["metrics"]["roc_auc"] <= high
    _, Xw, yw = multiclass
    Xw_all, yw_all = load_wine(return_X_y=True, as_frame=True)
    svm3 = make_pipeline(StandardScaler(), LinearSVC(C=0.01)).fit(Xw_all.iloc[::2], yw_all.iloc[::2])
    result = quality.evaluate(svm3, describe(svm3), Xw.assign(label=yw), "label", n_boot=0)
    scores = svm3.decision_function(Xw)
    expected = np.mean([skm.roc_auc_score(yw == k, scores[:, k]) for k in range(3)])
    assert result["metrics"]["roc_auc"] == pytest.approx(expected)


def test_regression_metrics_equal_sklearn():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X.iloc[::2], y.iloc[::2])
    Xt, yt = X.iloc[1::2], y.iloc[1::2].to_numpy()
    result = quality.evaluate(model, describe(model), Xt.assign(t=yt), "t", n_boot=200)
    pred = model.predict(Xt)
    m = result["metrics"]
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(yt, pred))
    assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(yt, pred))
    assert m["r2"] == pytest.approx(skm.r2_score(yt, pred))
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(yt, pred))
    assert len(result["residuals"]["residual"]) == len(yt)  # under the downsampling limit
    assert result["residuals"]["mean"] == pytest.approx(float(np.mean(yt - pred)))


def test_bootstrap_weights_reproduce_sklearn_on_a_resample(multiclass):
    model, X, y = multiclass
    pred, proba = model.predict(X), model.predict_proba(X)
    idx = np.random.default_rng(5).integers(0, len(y), len(y))
    W = np.bincount(idx, minlength=len(y))[None, :].astype(float)
    stats = bootstrap.classification_stats(W, y.astype(object), pred.astype(object), proba, [0, 1, 2])
    yr, pr, qr = y[idx], pred[idx], proba[idx]
    assert stats["accuracy"][0] == pytest.approx(skm.accuracy_score(yr, pr))
    assert stats["balanced_accuracy"][0] == pytest.approx(skm.balanced_accuracy_score(yr, pr))
    assert stats["f1_macro"][0] == pytest.approx(skm.f1_score(yr, pr, average="macro"))
    assert stats["log_loss"][0] == pytest.approx(skm.log_loss(yr, qr, labels=[0, 1, 2]))
    assert stats["brier"][0] == pytest.approx(skm.brier_score_loss(yr, qr, labels=[0, 1, 2]))
    assert stats["roc_auc"][0] == pytest.approx(skm.roc_auc_score(yr, qr, multi_class="ovr"))


def test_weighted_auc_handles_ties():
    rng = np.random.default_rng(0)
    score = rng.integers(0, 4, 300) / 4  # many ties
    hit = rng.random(300) < 0.3 + 0.4 * score
    idx = rng.integers(0, 300, 300)
    W = np.vstack([np.ones(300), np.bincount(idx, minlength=300)])
    auc = bootstrap.weighted_auc(W, hit, score)
    assert auc[0] == pytest.approx(skm.roc_auc_score(hit, score))
    assert auc[1] == pytest.approx(skm.roc_auc_score(hit[idx], score[idx]))


def test_regression_bootstrap_resample_equals_sklearn():
    rng = np.random.default_rng(2)
    y = rng.normal(10, 3, 200)
    pred = y + rng.normal(0, 1, 200)
    idx = rng.integers(0, 200, 200)
    W = np.bincount(idx, minlength=200)[None, :].astype(float)
    stats = bootstrap.regression_stats(W, y, pred)
    assert stats["mae"][0] == pytest.approx(skm.mean_absolute_error(y[idx], pred[idx]))
    assert stats["rmse"][0] == pytest.approx(skm.root_mean_squared_error(y[idx], pred[idx]))
    assert stats["r2"][0] == pytest.approx(skm.r2_score(y[idx], pred[idx]))
    assert stats["mape"][0] == pytest.approx(skm.mean_absolute_percentage_error(y[idx], pred[idx]))


@pytest.mark.parametrize("n", [2_000, 150_000])
def test_mae_interval_width_matches_the_standard_error(n):
    """A mean's 95% interval is about 3.92 standard errors wide; above MAX_ROWS via the m-out-of-n scaling."""
    rng = np.random.default_rng(n)
    y = rng.normal(0, 1, n)
    pred = y + rng.standard_t(5, n)
    boot = bootstrap.bootstrap_regression(y, pred, 400, seed=1)
    assert boot["rows"] == min(n, bootstrap.MAX_ROWS) and boot["n_boot"] >= bootstrap.MIN_BOOT
    low, high = boot["ci"]["mae"]
    abs_err = np.abs(y - pred)
    assert low < abs_err.mean() < high
    assert (high - low) / 3.92 == pytest.approx(abs_err.std() / np.sqrt(n), rel=0.2)


def test_intervals_are_seeded_and_bracket_the_estimate(binary):
    model, X, y = binary
    info = describe(model)
    frame = X.assign(label=y)
    first = quality.evaluate(model, info, frame, "label", n_boot=500, seed=7)
    again = quality.evaluate(model, info, frame, "label", n_boot=500, seed=7)
    other = quality.evaluate(model, info, frame, "label", n_boot=500, seed=8)
    assert first["ci"] == again["ci"] and first["ci"] != other["ci"]
    for name in ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "log_loss", "brier"):
        low, high = first["ci"][name]
        assert low <= first["metrics"][name] <= high
    # the spread of the accuracy bootstrap is close to the binomial standard error
    low, high = first["ci"]["accuracy"]
    acc = first["metrics"]["accuracy"]
    assert (high - low) / 3.92 == pytest.approx(np.sqrt(acc * (1 - acc) / len(y)), rel=0.3)


def test_labels_from_csv_are_aligned_and_unknown_ones_dropped(binary):
    model, X, y = binary
    labels = pd.Series(y).astype(str).to_numpy().astype(object)  # "0"/"1" as read from a text column
    labels[:3] = ["maybe", None, "1.0"]
    result = quality.evaluate(model, describe(model), X.assign(label=labels), "label", n_boot=0)
    assert result["n_rows"] == len(y) - 2 and result["dropped_rows"] == 1  # None is dropped before alignment
    assert quality.align_labels(np.array([1.0, "1", 0, 3], dtype=object), [0, 1]).tolist() == [1, 1, 0, None]
    with pytest.raises(ValueError, match="usable label.*classes: 0, 1"):
        quality.evaluate(model, describe(model), X.assign(label="yes"), "label", n_boot=0)
    with pytest.raises(ValueError, match="lacks 1 of the model's features"):
        quality.evaluate(model, describe(model), X.drop(columns="mean area").assign(label=y), "label", n_boot=0)


def test_compute_without_labels_is_none_and_with_current_has_both(binary):
    model, X, y = binary
    assert quality.compute(make_context(model, X.head(50))) is None
    assert quality.compute(make_context(model, X.head(50), sample=X.head(50), target="label")) is None
    sample, current = X.iloc[:150].assign(label=y[:150]), X.iloc[150:].assign(label=y[150:])
    result = quality.compute(make_context(model, X.head(50), sample=sample, current=current, target="label",
                                          quality={"n_boot": 100}))
    assert result["evaluated_on"] == "sample" and result["n_rows"] == 150
    assert result["current"]["n_rows"] == len(y) - 150
    only_current = quality.compute(make_context(model, X.head(50), current=current, target="label",
                                                quality={"n_boot": 100}))
    assert only_current["evaluated_on"] == "current" and only_current["current"] is None


@pytest.mark.usefixtures("sandbox")
def test_suite_in_the_sandbox_fills_the_three_sections(cancer):
    """One real run: the sections fit in the sandbox and their output is strict JSON."""
    X, y = cancer
    X = X.iloc[:, :5]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    sample = X.iloc[:200].assign(target=y.iloc[:200])
    payload = {"schema": schema_from_frame(X), "target": "target",
               "config": {"n_samples": 300, "batch_sizes": [1, 100], "timeout_s": 120,
                          "performance": {"latency_budget_s": 0.4, "error_budget_s": 10},
                          "quality": {"n_boot": 200}, "explain": {"max_samples": 20, "background": 20},
                          "drift": {"severities": [1.0], "kinds": ["mean_shift"]}}}
    stages = []
    result = run_task("suite", dumps(model), "pickle", payload, {"sample.csv": sample.to_csv(index=False).encode()},
                      Limits(timeout_s=180), on_progress=lambda stage, fraction, extra=None: stages.append(stage))
    json.dumps(result, allow_nan=False)
    perf, robust, qual = result["performance"], result["robustness"], result["quality"]
    assert set(perf["latency_ms"]) == {"1", "100"} and perf["error_rate"] == 0.0
    assert perf["load_time_ms"] > 0 and perf["model_size_bytes"] == len(dumps(model))
    assert robust["total"] == len(robust["cases"]) and robust["passed"] >= 1
    assert qual["n_rows"] == 200 and 0.5 < qual["metrics"]["accuracy"] <= 1
    assert {"performance", "robustness", "quality"} <= set(stages)
