"""Gates: path validation, the defaults, and the verdict on a Result."""
from __future__ import annotations

import pytest

from modelwatch.core.config import resolve_config
from modelwatch.core.results import gates
from modelwatch.errors import BadRequest

RESULT = {
    "performance": {"latency_ms": {"1": {"p50": 1.0, "p95": 4.0, "p99": 9.0, "max": 12.0, "mean": 2.0, "n_calls": 50},
                                   "100": {"p50": 3.0, "p95": 8.0, "p99": 11.0, "max": 20.0, "mean": 4.0}},
                    "throughput_rows_per_s": {"1": 500.0, "100": 25000.0}, "error_rate": 0.0,
                    "load_time_ms": 30.0, "model_size_bytes": 2048, "peak_memory_mb": 150.0},
    "robustness": {"passed": 30, "total": 40, "cases": []},
    "quality": {"task": "classification", "n_rows": 200, "metrics": {"accuracy": 0.93, "roc_auc": 0.98}},
    "drift": {"scenarios": [{"prediction_psi": 0.05, "prediction_shift": -0.3, "flip_rate": 0.1},
                            {"prediction_psi": 0.4, "prediction_shift": 0.1, "flip_rate": None}],
              "current": {"share_drifted": 0.2, "dataset_drift": False}},
    "explainability": {"skipped": "no explainer"},
}
CONFIG = resolve_config({"batch_sizes": [100, 1]})


def test_valid_paths_follow_the_batch_sizes():
    paths = gates.valid_paths(CONFIG)
    assert "performance.latency_ms.1.p95" in paths and "performance.throughput_rows_per_s.100" in paths
    assert "performance.latency_ms.10.p95" not in paths
    assert paths == sorted(paths) and "quality.metrics.r2" in paths and "drift.scenario.prediction_psi" in paths


def test_unknown_paths_are_a_bad_request_listing_the_valid_ones():
    with pytest.raises(BadRequest) as caught:
        gates.validate_thresholds({"performance.latency_ms.10.p95": {"max": 5}, "quality.metrics.accuracy": {"min": 1}},
                                  CONFIG)
    assert caught.value.details["unknown"] == ["performance.latency_ms.10.p95"]
    assert "performance.latency_ms.1.p95" in caught.value.details["valid"]
    assert "performance.latency_ms.10.p95" in caught.value.message


@pytest.mark.parametrize("rule", [{"max": "5"}, {}, {"below": 3}, 5, {"max": True}, {"min": 2, "max": 1},
                                  {"max": float("nan")}])
def test_malformed_bounds_are_a_bad_request(rule):
    with pytest.raises(BadRequest) as caught:
        gates.validate_thresholds({"performance.error_rate": rule}, CONFIG)
    assert "performance.error_rate" in caught.value.details["invalid"]


def test_evaluate_checks_each_bound_with_its_value():
    config = {**CONFIG, "thresholds": {"performance.latency_ms.1.p95": {"max": 5}, "quality.metrics.accuracy":
                                       {"min": 0.95}, "robustness.pass_rate": {"min": 0.7, "max": 1}}}
    verdict = gates.evaluate(RESULT, config)
    by_name = {(c["metric"], c["op"]): c for c in verdict["checks"]}
    assert verdict["source"] == "config" and len(verdict["checks"]) == 4 and verdict["passed"] is False
    assert by_name[("performance.latency_ms.1.p95", "max")]["passed"] is True
    assert by_name[("performance.latency_ms.1.p95", "max")]["value"] == 4.0
    accuracy = by_name[("quality.metrics.accuracy", "min")]
    assert accuracy["passed"] is False and accuracy["value"] == 0.93 and accuracy["threshold"] == 0.95
    assert by_name[("robustness.pass_rate", "min")]["value"] == pytest.approx(0.75)
    assert set(accuracy) >= {"name", "metric", "op", "threshold", "value", "passed"}


def test_scenario_gates_take_the_worst_scenario():
    assert gates.metric_value(RESULT, "drift.scenario.prediction_psi", "max") == 0.4
    assert gates.metric_value(RESULT, "drift.scenario.prediction_psi", "min") == 0.05
    assert gates.metric_value(RESULT, "drift.scenario.abs_prediction_shift", "max") == 0.3
    assert gates.metric_value(RESULT, "drift.scenario.flip_rate", "max") == 0.1  # None is ignored
    assert gates.metric_value(RESULT, "drift.current.dataset_drift") == 0.0


def test_a_gate_on_an_unmeasured_metric_fails():
    config = {**CONFIG, "thresholds": {"explainability.additivity_max_error": {"max": 0.01},
                                       "quality.metrics.r2": {"min": 0.5}}}
    verdict = gates.evaluate(RESULT, config)
    assert verdict["passed"] is False
    assert all(c["value"] is None and not c["passed"] and c["message"] for c in verdict["checks"])


def test_defaults_apply_when_no_thresholds_are_given():
    verdict = gates.evaluate(RESULT, CONFIG)
    assert verdict["source"] == "default" and verdict["passed"] is True
    assert [c["metric"] for c in verdict["checks"]] == ["performance.error_rate", "performance.latency_ms.1.p95"]
    failing = {**RESULT, "performance": {**RESULT["performance"], "error_rate": 0.02}}
    assert gates.evaluate(failing, CONFIG)["passed"] is False
    gates.validate_thresholds(gates.default_thresholds(CONFIG), CONFIG)  # the defaults are valid paths


ROBUST = {"passed": 30, "total": 40, "outcomes": {"ok": 30, "rejected": 10, "degraded": 0, "crashed": 0},
          "handled_rate": 1.0, "cases": []}


def test_handled_rate_never_counts_a_correct_rejection_against_the_model():
    result = {**RESULT, "robustness": ROBUST}  # 10 of 40 cases refused invalid input with an error
    paths = gates.valid_paths(CONFIG)
    assert {"robustness.handled_rate", "robustness.outcomes.crashed", "robustness.outcomes.degraded"} <= set(paths)
    config = {**CONFIG, "thresholds": {"robustness.handled_rate": {"min": 1.0}, "robustness.outcomes.crashed":
                                       {"max": 0}, "robustness.pass_rate": {"min": 1.0}}}
    found = {c["metric"]: c for c in gates.evaluate(result, config)["checks"]}
    assert found["robustness.handled_rate"]["passed"] and found["robustness.handled_rate"]["value"] == 1.0
    assert found["robustness.outcomes.crashed"]["passed"] and found["robustness.outcomes.crashed"]["value"] == 0.0
    assert not found["robustness.pass_rate"]["passed"]  # the old figure holds the rejections against it
    crashed = {**result, "robustness": {**ROBUST, "outcomes": {**ROBUST["outcomes"], "ok": 29, "crashed": 1}}}
    found = {c["metric"]: c for c in gates.evaluate(crashed, config)["checks"]}
    assert not found["robustness.handled_rate"]["passed"] and found["robustness.handled_rate"]["value"] == 39 / 40
    assert not found["robustness.outcomes.crashed"]["passed"]
    skipped = {**result, "robustness": {"skipped": "TimeoutError"}}
    assert gates.metric_value(skipped, "robustness.handled_rate") is None  # not measured: the gate fails


def test_robustness_gates_read_results_stored_before_outcomes_from_their_cases():
    older = {"robustness": {"passed": 1, "total": 3, "cases": [
        {"name": "baseline", "status": "ok"}, {"name": "nan:a", "kind": "nan", "status": "error"},
        {"name": "min:a", "kind": "min", "status": "error"}]}}
    assert gates.metric_value(older, "robustness.handled_rate") == pytest.approx(2 / 3)
    assert gates.metric_value(older, "robustness.outcomes.crashed") == 1.0
    assert gates.metric_value(older, "robustness.outcomes.rejected") == 1.0


def test_the_default_gates_never_read_robustness_so_a_rejection_cannot_fail_them():
    assert not any(path.startswith("robustness.") for path in gates.default_thresholds(CONFIG))
    rejecting = {**RESULT, "robustness": {**ROBUST, "outcomes": {"ok": 0, "rejected": 40, "degraded": 0,
                                                                 "crashed": 0}, "passed": 0}}
    assert gates.evaluate(rejecting, CONFIG) == gates.evaluate(RESULT, CONFIG)
    assert gates.evaluate(rejecting, CONFIG)["passed"] is True
