"""Flattening a Result into rows and headline figures, whatever shape or state each section is in."""
from __future__ import annotations

import pytest

from modelwatch.core.results.report import headline_metrics, label, metric_rows, section_of, skip_reason
from tests.factories import V1


def test_headline_metrics_of_a_known_result():
    metrics = headline_metrics(V1)
    assert metrics["performance.latency_ms.1.p95"] == 2.0 and metrics["performance.latency_ms.100.p95"] == 8.0
    assert metrics["performance.best_throughput_rows_per_s"] == 20000.0
    assert metrics["robustness.handled_rate"] == pytest.approx(0.9)  # 8 ok + 1 rejected of 10
    assert metrics["robustness.outcomes.crashed"] == 1.0 and metrics["robustness.outcomes.degraded"] == 0.0
    assert metrics["quality.accuracy"] == 0.9 and metrics["drift.max_abs_prediction_shift"] == pytest.approx(0.2)
    assert metrics["drift.detected_share"] == 0.5 and metrics["drift.max_accuracy_drop"] == pytest.approx(0.05)
    assert label("performance.latency_ms.100.p95") == "latency p95, batch 100 (ms)"
    assert label("robustness.outcomes.crashed") == "robustness: cases crashed"


def test_metric_rows_are_flat_scalars_with_keyed_detail():
    rows = metric_rows(V1)
    assert all(len(row) == 3 and not isinstance(row[2], (dict, list)) for row in rows)
    found = {(s, m): v for s, m, v in rows}
    assert found[("performance", "latency_ms.1.p99")] == pytest.approx(2.4)
    assert found[("explainability", "importance.a")] == 0.5
    assert found[("drift", "scenario.b.mean_shift.1.0.prediction_shift")] == -0.1
    assert found[("robustness", "handled_rate")] == pytest.approx(0.9)  # headline figures are rows too
    assert found[("robustness", "outcomes.rejected")] == 1
    assert [m for s, m, _ in rows if s == "robustness"].count("outcomes.crashed") == 1  # walked, not repeated
    assert found[("data", "n_samples")] == 100


def test_skipped_missing_and_null_sections():
    result = {"performance": {"skipped": "ValueError: boom"}, "quality": None}
    assert section_of(result, "performance") is None and skip_reason(result, "performance") == "ValueError: boom"
    assert "labelled data" in skip_reason(result, "quality") and skip_reason(result, "drift") == "not computed"
    rows = metric_rows(result)
    assert ("performance", "skipped", "ValueError: boom") in rows and len(rows) == 5
    assert headline_metrics(None) == {} and metric_rows(None)[0] == ("performance", "skipped", "not computed")
