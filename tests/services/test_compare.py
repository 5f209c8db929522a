"""Comparing runs: the deltas against the baseline, which way is better, and runs with missing sections."""
from __future__ import annotations

import pytest

from modelwatch.core.results.report import compare_metrics, direction, verdict
from modelwatch.errors import BadRequest, NotFound
from modelwatch.figures.compare import compare_figures
from modelwatch.services.compare import baseline_for, comparable_runs, compare_runs
from tests.factories import V1, V2, add_run


def test_deltas_and_verdicts_for_two_known_runs(app):
    v1, v2 = add_run("churn v1", V1, minutes_ago=10), add_run("churn v2", V2)
    data = compare_runs([v1.id, v2.id])
    assert [r["id"] for r in data["runs"]] == [v1.id, v2.id] and data["runs"][0]["label"].startswith("churn v1")
    rows = {row["key"]: row for row in data["metrics"]}
    expected = {  # key: (v1, v2, delta, verdict)
        "performance.latency_ms.1.p95": (2.0, 1.5, -0.5, "better"),
        "performance.latency_ms.1.p50": (1.0, 1.0, 0.0, "same"),
        "performance.latency_ms.100.p95": (8.0, 10.0, 2.0, "worse"),
        "performance.best_throughput_rows_per_s": (20000.0, 25000.0, 5000.0, "better"),
        "performance.error_rate": (0.0, 0.02, 0.02, "worse"),
        "robustness.pass_rate": (0.8, 0.9, 0.1, "better"),
        "quality.accuracy": (0.90, 0.95, 0.05, "better"),
        "quality.log_loss": (0.30, 0.25, -0.05, "better"),
        "drift.max_abs_prediction_shift": (0.2, 0.3, 0.1, "worse"),
    }
    for key, (first, second, delta, outcome) in expected.items():
        row = rows[key]
        assert row["values"] == pytest.approx([first, second]), key
        assert row["deltas"][0] == 0.0 and row["deltas"][1] == pytest.approx(delta), key
        assert row["verdicts"] == ["baseline", outcome], key


def test_three_runs_and_a_run_with_skipped_sections(app):
    base = add_run("base", V1, minutes_ago=20)
    skipped = add_run("skipped", {**V2, "quality": {"skipped": "no labels"}, "drift": None})
    failed = add_run("failed", None, status="failed")
    data = compare_runs([base.id, skipped.id, failed.id])
    rows = {row["key"]: row for row in data["metrics"]}
    assert rows["quality.accuracy"]["values"] == [0.90, None, None]
    assert rows["quality.accuracy"]["verdicts"] == ["baseline", "n/a", "n/a"]
    assert rows["performance.latency_ms.1.p95"]["deltas"][1] == pytest.approx(-0.5)
    figures = dict(compare_figures(data["runs"]))
    assert set(figures) == {"latency", "drift", "importance"}
    assert len(figures["latency"].data) == 4  # p95 and p50 lines for the two runs that have performance
    assert "not in: skipped" in figures["drift"].layout.title.text and "failed" in figures["drift"].layout.title.text
    importance = figures["importance"]
    assert [t.name for t in importance.data] == [data["runs"][0]["label"], data["runs"][1]["label"]]
    assert list(importance.data[0].y) == ["b", "a"] and list(importance.data[1].x) == [0.3, 0.4]


def test_the_baseline_of_a_run_is_the_previous_run_of_the_same_model(app):
    v1, other, v2 = add_run("scorer", V1, minutes_ago=30), add_run("other", V1, minutes_ago=10), add_run("scorer", V2)
    assert baseline_for(v2.id) == v1.id and baseline_for(other.id) == v1.id and baseline_for(v1.id) is None


def test_picking_runs(app):
    with pytest.raises(BadRequest):
        compare_runs([add_run("alone", V1).id])
    with pytest.raises(NotFound):
        compare_runs([add_run("one", V1).id, "missing"])
    labels = [r["label"] for r in comparable_runs()]
    assert len(labels) == 2 and all("sha256" in label for label in labels)


def test_direction_and_verdict_rules():
    assert direction("quality.roc_auc") == "higher" and direction("quality.rmse") == "lower"
    assert direction("performance.latency_ms.1.p95") == "lower" and direction("quality.r2") == "higher"
    assert direction("performance.model_size_bytes") == "neutral"
    assert direction("drift.max_accuracy_drop") == "lower" and direction("quality.balanced_accuracy") == "higher"
    assert direction("drift.max_abs_prediction_shift") == "lower" and direction("quality.log_loss") == "lower"
    assert verdict(100.0, 100.4, "lower") == "same" and verdict(100.0, 101.0, "lower") == "worse"
    assert verdict(None, 1.0, "lower") == "n/a"
    assert compare_metrics([None, None]) == []
