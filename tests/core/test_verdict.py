"""The verdict's rules, each with a model or a Result built to trip it."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression

from modelwatch.core.checks import quality
from modelwatch.core.model.introspect import describe
from modelwatch.core.results import gates, verdict

GOOD = {
    "schema": {"features": [{"name": "a", "type": "float", "source": "sample"},
                            {"name": "b", "type": "float", "source": "model"}]},
    "data": {"n_samples": 100, "seed": 0, "generator": "independent", "assumed_features": []},
    "performance": {"latency_ms": {"1": {"p95": 2.0}, "100": {"p95": 9.0}}, "error_rate": 0.0},
    "robustness": {"passed": 3, "total": 4, "cases": [
        {"name": "baseline", "feature": None, "status": "ok"},
        {"name": "a:max", "feature": "a", "kind": "max", "status": "ok"},
        {"name": "a:nan", "feature": "a", "kind": "nan", "status": "error"},  # rejected loudly: fine
        {"name": "single_row", "feature": None, "status": "ok"}]},
    "quality": {"task": "classification", "metrics": {"balanced_accuracy": 0.9},
                "baseline": {"strategy": "prior", "metrics": {"balanced_accuracy": 0.5}}},
    "drift": {"scenarios": [{"feature": "a", "kind": "mean_shift", "severity": 1.0, "impact": 0.05},
                            {"feature": "a", "kind": "mean_shift", "severity": 2.0, "impact": 0.9}],
              "current": None},
}


def _status(result: dict, name: str) -> str:
    return next(c["status"] for c in verdict.evaluate(result)["checks"] if c["name"] == name)


def test_a_sound_result_passes_every_light():
    found = verdict.evaluate(GOOD)
    assert found["status"] == "pass" and found["reasons"] == []
    assert [c["name"] for c in found["checks"]] == ["latency", "errors", "robustness", "beats the baseline",
                                                     "drift sensitivity", "data realism"]
    assert all(set(c) == {"section", "name", "status", "value", "bound", "reason"} for c in found["checks"])


@pytest.fixture(scope="module")
def split(cancer):
    X, y = cancer
    return X.iloc[::2], y.iloc[::2].to_numpy(), X.iloc[1::2], y.iloc[1::2].to_numpy()


def _quality(model, X, y) -> dict:
    return quality.evaluate(model, describe(model), X.assign(label=y), "label", n_boot=0)


def test_a_classifier_fitted_on_shuffled_labels_fails_the_baseline_check(split):
    X_fit, y_fit, X_test, y_test = split
    shuffled = RandomForestClassifier(n_estimators=20, random_state=0).fit(
        X_fit, np.random.default_rng(0).permutation(y_fit))
    section = _quality(shuffled, X_test, y_test)
    assert section["baseline"]["metrics"]["balanced_accuracy"] == pytest.approx(0.5)
    assert section["baseline"]["metrics"]["accuracy"] == pytest.approx(max(np.mean(y_test), 1 - np.mean(y_test)))
    result = {**GOOD, "quality": section}
    check = next(c for c in verdict.evaluate(result)["checks"] if c["section"] == "quality")
    assert check["status"] == "fail" and "majority class" in check["reason"]
    assert verdict.evaluate(result)["status"] == "fail"
    honest = RandomForestClassifier(n_estimators=20, random_state=0).fit(X_fit, y_fit)
    assert _status({**GOOD, "quality": _quality(honest, X_test, y_test)}, "beats the baseline") == "pass"


def test_a_regressor_must_beat_the_mean():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    real = LinearRegression().fit(X.iloc[::2], y.iloc[::2])
    noise = LinearRegression().fit(X.iloc[::2], np.random.default_rng(0).permutation(y.iloc[::2].to_numpy()))
    for model, expected in ((real, "pass"), (noise, "fail")):
        section = _quality(model, X.iloc[1::2], y.iloc[1::2].to_numpy())
        assert section["baseline"]["strategy"] == "mean"
        assert section["baseline"]["metrics"]["r2"] == pytest.approx(0.0)
        assert _status({**GOOD, "quality": section}, "beats the baseline") == expected


def test_assumed_features_make_a_run_at_best_warn():
    listed = copy.deepcopy(GOOD)
    listed["data"]["assumed_features"] = ["b"]
    marked = copy.deepcopy(GOOD)
    marked["schema"]["features"][1]["source"] = "assumed"
    for result in (listed, marked):
        found = verdict.evaluate(result)
        assert found["status"] == "warn"
        assert _status(result, "data realism") == "warn" and any("assumed" in r for r in found["reasons"])
    unknown = copy.deepcopy(GOOD)  # nothing says where the features came from: grey, never green
    for feature in unknown["schema"]["features"]:
        del feature["source"]
    assert _status(unknown, "data realism") == "not_measured" and verdict.evaluate(unknown)["status"] == "warn"


def test_a_skipped_section_is_grey_and_the_verdict_incomplete():
    result = {**GOOD, "robustness": {"skipped": "TimeoutError: out of time"}}
    found = verdict.evaluate(result)
    check = next(c for c in found["checks"] if c["name"] == "robustness")
    assert check["status"] == "not_measured" and "out of time" in check["reason"]
    assert found["status"] == "incomplete"
    unlabelled = verdict.evaluate({**GOOD, "quality": None})
    assert unlabelled["status"] == "warn"
    assert next(c for c in unlabelled["checks"] if c["section"] == "quality")["status"] == "not_measured"
    crashed = {**GOOD, "performance": {**GOOD["performance"], "error_rate": 0.1}, "drift": {"skipped": "x"}}
    assert verdict.evaluate(crashed)["status"] == "fail"  # a failure is definite even when something is missing


def test_robustness_tells_a_crash_on_valid_input_from_a_silent_wrong_answer():
    cases = GOOD["robustness"]["cases"]
    crash = {**GOOD, "robustness": {"cases": [*cases, {"name": "a:min", "feature": "a", "kind": "min",
                                                       "status": "error"}]}}
    silent = {**GOOD, "robustness": {"cases": [*cases, {"name": "a:above", "feature": "a", "kind": "above_range",
                                                        "status": "degraded"}]}}
    assert _status(crash, "robustness") == "fail" and _status(silent, "robustness") == "warn"


def test_drift_sensitivity_and_latency_bounds():
    fragile = {**GOOD, "drift": {"scenarios": [{"feature": "a", "severity": 0.5, "impact": 0.6}]}}
    drifted = {**GOOD, "drift": {**GOOD["drift"], "current": {"dataset_drift": True, "share_drifted": 0.6}}}
    slow = {**GOOD, "performance": {**GOOD["performance"], "latency_ms": {"10": {"p95": 5000.0}}}}
    assert _status(fragile, "drift sensitivity") == "warn" and _status(drifted, "drift sensitivity") == "warn"
    assert _status(slow, "latency") == "fail"


def _latency(stats: dict) -> dict:
    result = {**GOOD, "performance": {**GOOD["performance"], "latency_ms": {"1": stats}}}
    return next(c for c in verdict.evaluate(result)["checks"] if c["name"] == "latency")


def test_the_latency_light_warns_when_the_p95_interval_crosses_the_bound():
    timed = {"n_calls": 90, "stopped_by": "budget"}
    crossing = _latency({**timed, "p95": 980.0, "p95_ci": [950.0, 1040.0]})
    assert crossing["status"] == "warn" and "(950–1,040 ms) crosses the 1,000 ms bound" in crossing["reason"]
    assert _latency({**timed, "p95": 1010.0, "p95_ci": [990.0, 1100.0]})["status"] == "warn"  # over, not surely
    over = _latency({**timed, "p95": 1100.0, "p95_ci": [1050.0, 1200.0]})
    assert over["status"] == "fail"
    assert over["reason"].endswith("(over the 1,000 ms bound; 95% interval 1,050–1,200 ms)")
    within = _latency({**timed, "p95": 900.0, "p95_ci": [850.0, 1000.0]})  # the interval reaches the bound: within
    assert within["status"] == "pass" and "95% interval 850–1,000 ms" in within["reason"]
    unbounded = _latency({"p95": 900.0, "n_calls": 5, "stopped_by": "budget", "p95_ci": None})
    assert unbounded["status"] == "pass" and unbounded["reason"].endswith("from 5 calls, too few to bound it)")
    assert _latency({"p95": 2.0})["reason"] == "p95 of one call on 1 row(s) is 2 ms (within the 1,000 ms bound)"
    assert _latency({"p95": 5000.0})["reason"].startswith("p95 of one call on 1 row(s) is 5,000 ms")  # not 5e+03


def test_the_users_gates_are_folded_in():
    config = {"batch_sizes": [1], "thresholds": {"performance.latency_ms.1.p95": {"max": 1.0}}}
    found = verdict.evaluate(GOOD, gates.evaluate(GOOD, config))
    gate = found["checks"][-1]
    assert gate["name"].startswith("gate performance.latency_ms.1.p95") and gate["status"] == "fail"
    assert found["status"] == "fail"
    default = gates.evaluate(GOOD, {"batch_sizes": [1]})  # the default set is the latency and errors lights
    assert verdict.evaluate(GOOD, default) == verdict.evaluate(GOOD)


def test_a_failed_run_fails_when_the_model_caused_it():
    assert verdict.of_failed_run({"code": "model_error", "message": "boom"})["status"] == "fail"
    assert verdict.of_failed_run({"code": "cancelled", "message": "stop"})["status"] == "incomplete"


def test_a_section_of_an_unexpected_shape_is_grey_not_a_crash():
    found = verdict.evaluate({**GOOD, "robustness": {"cases": "not a list"}, "performance": []})
    assert {c["name"]: c["status"] for c in found["checks"]}["robustness"] == "not_measured"
    assert found["status"] in ("warn", "incomplete")


def test_robustness_reads_each_cases_outcome_when_the_result_has_one():
    cases = GOOD["robustness"]["cases"]
    nullable_crash = {"name": "nan:a", "feature": "a", "kind": "nan", "status": "error", "outcome": "crashed"}
    rejected_max = {"name": "max:b", "feature": "b", "kind": "max", "status": "error", "outcome": "rejected"}
    assert _status({**GOOD, "robustness": {"cases": [*cases, nullable_crash]}}, "robustness") == "fail"
    assert _status({**GOOD, "robustness": {"cases": [*cases, rejected_max]}}, "robustness") == "pass"


def test_the_robustness_reason_names_every_outcome_in_the_tabs_words():
    check = next(c for c in verdict.evaluate(GOOD)["checks"] if c["name"] == "robustness")
    assert check["status"] == "pass"
    assert check["reason"].endswith("(0 crashed on valid input · 0 silently degraded · "
                                    "1 rejected with a clear error · 3 ok)")


def test_incomplete_only_for_a_skipped_section_that_a_check_reads():
    unexplained = {**GOOD, "explainability": {"skipped": "no explainer"}}  # no light reads it
    assert verdict.evaluate(unexplained)["status"] == "pass"
    config = {"batch_sizes": [1], "thresholds": {"explainability.additivity_max_error": {"max": 1.0}}}
    found = verdict.evaluate(unexplained, gates.evaluate(unexplained, config))  # a gate reads it: not measured
    assert found["status"] == "fail" and found["checks"][-1]["section"] == "explainability"
    assert verdict.evaluate({**GOOD, "drift": {"skipped": "x"}})["status"] == "incomplete"
