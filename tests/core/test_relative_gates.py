"""Gates relative to the champion, on Results built directly: slower than allowed fails, the first version passes."""
from __future__ import annotations

import pytest

from modelwatch.core.results import gates
from modelwatch.core.results.relative_gates import NO_CHAMPION
from modelwatch.errors import BadRequest

CONFIG = {"batch_sizes": [1], "thresholds": {
    "performance.latency_ms.1.p95": {"max_relative_change": 0.1, "baseline": "champion"},
    "quality.metrics.roc_auc": {"min_absolute_change": -0.01, "baseline": "champion"},
}}


def result(p95_ms: float, roc_auc: float) -> dict:
    return {"performance": {"latency_ms": {"1": {"p95": p95_ms}}}, "quality": {"metrics": {"roc_auc": roc_auc}}}


def test_a_candidate_20_percent_slower_than_the_champion_fails_a_10_percent_gate():
    verdict = gates.evaluate(result(12.0, 0.95), CONFIG, {"run_id": "champ", "result": result(10.0, 0.95)})
    assert verdict["passed"] is False and verdict["baseline_run"] == "champ"
    latency, auc = verdict["checks"]
    assert latency["passed"] is False and latency["baseline_value"] == 10.0
    assert latency["change"] == pytest.approx(0.2)
    assert auc["passed"] is True and auc["change"] == 0.0


def test_a_candidate_within_the_bounds_passes():
    verdict = gates.evaluate(result(10.5, 0.949), CONFIG, {"run_id": "champ", "result": result(10.0, 0.95)})
    assert verdict["passed"] is True


def test_the_first_version_of_a_model_passes_relative_gates_with_a_reason():
    verdict = gates.evaluate(result(500.0, 0.5), CONFIG, None)
    assert verdict["passed"] is True and verdict["baseline_run"] is None
    assert all(check["message"] == NO_CHAMPION for check in verdict["checks"])


def test_a_metric_this_run_did_not_measure_fails_even_relative():
    verdict = gates.evaluate({"performance": {}}, CONFIG, {"run_id": "champ", "result": result(10.0, 0.95)})
    assert verdict["passed"] is False


def test_relative_rules_are_validated():
    gates.validate_thresholds(CONFIG["thresholds"], CONFIG)
    with pytest.raises(BadRequest) as caught:
        gates.validate_thresholds({"performance.error_rate": {"max_relative_change": "10%"}}, CONFIG)
    assert "performance.error_rate" in caught.value.details["invalid"]
    with pytest.raises(BadRequest):
        gates.validate_thresholds({"performance.error_rate": {"max_relative_change": 0.1, "baseline": "v1"}}, CONFIG)
