"""History's rows: one numeric value per metric and the verdict from the Result, and grouping by model."""
from __future__ import annotations

import pytest

from modelwatch.services.history import group_by_model, headline_row
from tests.factories import V1


def test_a_finished_run_gives_one_number_per_metric_and_its_verdict():
    row = headline_row({**V1, "verdict": {"status": "warn"}})
    assert row["verdict"] == "warn"
    assert row["p95_1_ms"] == 2.0 and row["throughput"] == 20000.0
    assert row["robustness"] == pytest.approx(0.9)  # handled: 8 ok + 1 rejected of 10
    assert row["accuracy"] == 0.9 and row["r2"] is None and row["drift_shift"] == pytest.approx(0.2)
    assert headline_row(None)["verdict"] is None


def test_grouping_keeps_each_models_runs_together_newest_model_first():
    rows = [{"id": i, "model": m} for i, m in enumerate(["b", "a", "b", "c", "a"])]  # newest first
    grouped = group_by_model(rows)
    assert [(r["id"], r["model"]) for r in grouped] == [(0, "b"), (2, "b"), (1, "a"), (4, "a"), (3, "c")]
    assert [r["group_first"] for r in grouped] == [True, False, True, False, True]
    assert [r["group_size"] for r in grouped] == [2, 2, 2, 2, 1]


def test_the_metric_chart_has_a_line_per_model_in_time_order():
    from modelwatch.figures.history import metric_over_runs

    rows = [{"model": "b", "created_at": "2026-12-06T05:00:00Z", "p95_1_ms": 3.0},
            {"model": "a", "created_at": "2026-12-06T04:00:00Z", "p95_1_ms": 2.0},
            {"model": "a", "created_at": "2026-12-06T03:00:00Z", "p95_1_ms": 1.0},
            {"model": "c", "created_at": "2026-12-06T03:00:00Z", "p95_1_ms": None}]  # running: no figure yet
    fig = metric_over_runs(rows, "p95_1_ms", "p95, 1 row")
    assert [t.name for t in fig.data] == ["a", "b"] and list(fig.data[0].y) == [1.0, 2.0]
    assert fig.layout.yaxis.title.text == "p95, 1 row" and fig.layout.xaxis.title.text
    assert "no listed run" in str(metric_over_runs(rows, "accuracy", "accuracy").layout.annotations[0].text)
