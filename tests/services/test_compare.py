"""Comparing runs: the deltas against the baseline, which way is better, and runs with missing sections."""
from __future__ import annotations

from datetime import datetime

import pytest

from modelwatch.core.results.report import compare_metrics, direction, verdict
from modelwatch.errors import BadRequest, NotFound
from modelwatch.figures.compare import compare_figures
from modelwatch.services.compare import (
    baseline_for,
    choose_baseline,
    comparable_runs,
    compare_runs,
    differing_settings,
    interval,
    judge,
    judged_metrics,
    noise_band,
)
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
        "robustness.handled_rate": (0.9, 1.0, 0.1, "better"),  # ok or rejected: a rejection is no miss
        "robustness.outcomes.crashed": (1.0, 0.0, -1.0, "better"),
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
    figures = dict(compare_figures(data["runs"], data["metrics"]))
    assert set(figures) == {"parallel", "latency", "drift", "importance"}
    assert len(figures["latency"].data) == 4  # p95 and p50 lines for the two runs that have performance
    assert "not in: skipped" in figures["drift"].layout.title.text and "failed" in figures["drift"].layout.title.text
    parallel = figures["parallel"]  # the runs with figures, each axis from worst (0) to best (1)
    assert [t.name for t in parallel.data] == [r["label"] for r in data["runs"][:2]]  # not the failed run
    assert "not in: failed" in parallel.layout.title.text
    axes = list(parallel.data[0].x)
    assert "accuracy" not in axes  # a metric one run lacks has no axis
    latency = axes.index("latency p95, batch 1 (ms)")  # 2.0 against 1.5 ms: lower is better
    assert parallel.data[0].y[latency] == 0 and parallel.data[1].y[latency] == 1
    importance = figures["importance"]
    assert [t.name for t in importance.data] == [data["runs"][0]["label"], data["runs"][1]["label"]]
    assert list(importance.data[0].y) == ["b", "a"] and list(importance.data[1].x) == [0.3, 0.4]


def test_the_baseline_of_a_run_is_the_previous_run_of_the_same_model(app):
    v1, other, v2 = add_run("scorer", V1, minutes_ago=30), add_run("other", V1, minutes_ago=10), add_run("scorer", V2)
    add_run("scorer", None, status="failed", minutes_ago=5)
    assert baseline_for(v2.id) == v1.id  # the later failed run of the same model is skipped
    assert baseline_for(other.id) is None and baseline_for(v1.id) is None  # never another model


def _at(minute: int) -> datetime:
    return datetime(2026, 12, 6, 4, minute)


def test_choose_baseline_takes_the_latest_earlier_success_of_the_same_name():
    run = {"id": "r9", "name": "bc forest", "created_at": _at(50)}
    candidates = [
        {"id": "r1", "name": "bc forest", "status": "succeeded", "created_at": _at(10)},
        {"id": "r2", "name": "bc forest", "status": "succeeded", "created_at": _at(20)},  # the one
        {"id": "r3", "name": "bc forest", "status": "failed", "created_at": _at(30)},
        {"id": "r4", "name": "bc forest", "status": "cancelled", "created_at": _at(35)},
        {"id": "r5", "name": "churn pipeline", "status": "succeeded", "created_at": _at(40)},  # another model
        {"id": "r6", "name": "bc forest", "status": "succeeded", "created_at": _at(55)},  # later
        {"id": "r9", "name": "bc forest", "status": "succeeded", "created_at": _at(50)},  # itself
    ]
    assert choose_baseline(run, candidates) == "r2"
    assert choose_baseline(run, [c for c in candidates if c["id"] not in ("r1", "r2")]) is None
    assert choose_baseline({**run, "name": "churn pipeline"}, candidates) == "r5"


def test_direction_colouring_with_a_noise_band():
    # +0.23 accuracy is better, +20 ms of p95 is worse, whatever their sign
    assert judge(0.62, 0.85, "higher", noise=0.01) == "better"
    assert judge(10.0, 30.0, "lower", noise=0.5) == "worse"
    assert judge(30.0, 10.0, "lower", noise=0.5) == "better" and judge(0.85, 0.62, "higher", noise=0.01) == "worse"
    # within the noise band, neutral; a metric without a better direction is never coloured
    assert judge(0.85, 0.86, "higher", noise=0.02) == "same" and judge(10.0, 10.4, "lower", noise=0.5) == "same"
    assert judge(100.0, 900.0, "neutral", noise=0.0) == "same" and judge(None, 1.0, "higher", 0.0) == "n/a"
    # the band: bootstrap intervals in quadrature where the Results have them, else a share of the baseline
    assert noise_band("quality.accuracy", 0.9, [(0.86, 0.94), (0.87, 0.93)]) == pytest.approx(0.05)
    assert noise_band("performance.latency_ms.1.p95", 20.0, [None, None]) == pytest.approx(1.0)
    assert noise_band("quality.accuracy", 0.9, [None, None]) == pytest.approx(0.0045)
    # a narrow interval never makes a timing more sensitive than the machine's run-to-run noise
    assert noise_band("performance.latency_ms.1.p50", 16.4, [(16.3, 16.5), (16.1, 16.3)]) == pytest.approx(0.82)


def test_bootstrap_intervals_widen_the_band():
    narrow, wide = ({**V2, "quality": {**V2["quality"], "ci": {"accuracy": ci}}} for ci in ([0.94, 0.96], [0.8, 1.0]))
    base = {**V1, "quality": {**V1["quality"], "ci": {"accuracy": [0.89, 0.91]}}}
    assert interval(base, "quality.accuracy") == (0.89, 0.91) and interval(V1, "quality.accuracy") is None
    rows = {r["key"]: r for r in judged_metrics([base, narrow, wide])}
    accuracy = rows["quality.accuracy"]
    assert accuracy["verdicts"] == ["baseline", "better", "same"]  # +0.05 either way; the wide interval is noise
    assert accuracy["relative"][1] == pytest.approx(0.05 / 0.9)


def test_differing_settings_are_flagged():
    runs = [{"sha256": "a" * 64, "target": "y", "config": {"n_samples": 1000}},
            {"sha256": "a" * 64, "target": "y", "config": {"n_samples": 200, "batch_sizes": [1, 10]}}]
    assert differing_settings(runs) == [{"key": "batch_sizes", "values": [[1, 10, 100, 1000], [1, 10]]},
                                        {"key": "n_samples", "values": [1000, 200]}]
    assert differing_settings([runs[0], runs[0]]) == []


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
