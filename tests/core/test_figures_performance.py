"""Figures and tab renderers of performance, robustness and quality, built from real result dicts."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from modelwatch.core.checks import performance, quality, robustness
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.dashboard.sections import performance as performance_tab
from modelwatch.dashboard.sections import quality as quality_tab
from modelwatch.dashboard.sections import robustness as robustness_tab
from modelwatch.dashboard.sections.summary import headline
from modelwatch.figures import html_report
from modelwatch.figures import performance as pf
from modelwatch.figures import quality as qf
from modelwatch.figures import robustness as rf
from modelwatch.figures.format import number
from tests.core.suite_context import make_context
from tests.factories import V1


def stored(section):
    """What the run page reads: the section after the trip through strict JSON."""
    return json.loads(json.dumps(to_jsonable(section), allow_nan=False))


@pytest.fixture(scope="module")
def classifier_result(frame_logistic, cancer):
    X, y = cancer
    data = X.sample(300, random_state=0).reset_index(drop=True)
    data.loc[[3, 50], "mean area"] = float("nan")  # two failing rows, so the error figures have content
    ctx = make_context(frame_logistic, data, sample=X.iloc[:200].assign(target=y.iloc[:200]), target="target",
                       quality={"n_boot": 100})
    for name, compute in (("performance", performance.compute), ("robustness", robustness.compute),
                          ("quality", quality.compute)):
        ctx.results[name] = compute(ctx)
    return stored(ctx.results)


@pytest.fixture(scope="module")
def regression_quality():
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X, y)
    return stored(quality.compute(make_context(model, X.head(50), sample=X.assign(t=y), target="t",
                                               quality={"n_boot": 100})))


def test_performance_figures(classifier_result):
    section = classifier_result["performance"]
    assert section["error_rate"] == pytest.approx(2 / 300)
    figures = dict(pf.performance_figures(section))
    assert set(figures) == {"latency_distribution", "latency_percentiles", "throughput", "errors"}
    for fig in figures.values():
        assert isinstance(fig, go.Figure) and fig.data
    assert [t.name for t in figures["latency_distribution"].data] == ["1 row", "10 rows", "100 rows"]
    assert list(figures["throughput"].data[0].x) == [1, 10, 100]
    assert list(figures["errors"].data[0].x) == [2]
    empty = pf.error_breakdown_figure({**section, "errors": []})
    assert not empty.data and "no row failed" in empty.layout.annotations[0].text


def timed_section(calls: dict[str, int], seed: int = 0) -> dict[str, Any]:
    """Latency stats as ``performance.measure_latency`` stores them, from lognormal call times (no clock involved)."""
    rng = np.random.default_rng(seed)
    latency = {}
    for size, n in calls.items():
        timing = performance.Timing(rng.lognormal(np.log(0.002), 0.2, n), "precision")
        latency[size] = {**performance.latency_summary(timing.seconds), **performance.precision_summary(timing, 0.05)}
    return stored({"latency_ms": latency})


def test_the_latency_bars_carry_the_intervals_of_the_timed_quantiles():
    section = timed_section({"1": 400, "10": 300, "100": 40})  # 40 calls: too few to bound the p95
    latency = section["latency_ms"]
    sizes = sorted(latency, key=int)
    assert latency["100"]["p95_ci"] is None and latency["1"]["p95_ci"] is not None
    fig = pf.latency_figure(section)
    assert "95% intervals" in fig.layout.title.text
    bars = {trace.name: trace for trace in fig.data}
    for stat in ("p50", "p95"):
        for i, size in enumerate(sizes):
            value, interval = latency[size][stat], latency[size][f"{stat}_ci"]
            if interval is None:
                assert bars[stat].error_y.array[i] is None and "no interval" in bars[stat].hovertext[i]
                continue
            assert bars[stat].error_y.array[i] == pytest.approx(interval[1] - value)
            assert bars[stat].error_y.arrayminus[i] == pytest.approx(value - interval[0])
            assert bars[stat].hovertext[i] == f"95% interval {number(interval[0])}–{number(interval[1])} ms"
    assert bars["p99"].error_y.array is None  # no interval is computed for it: none is drawn
    stored_before = {size: {k: v for k, v in stats.items() if not k.endswith("_ci")} for size, stats in latency.items()}
    old = pf.latency_figure({**section, "latency_ms": stored_before})
    assert old.layout.title.text == "Latency per call" and all(trace.error_y.array is None for trace in old.data)


def budget_bound(model, data):
    """The performance section of a timing that cannot reach its precision: every batch size spends its budget."""
    ctx = make_context(model, data, performance={"latency_budget_s": 0.09, "error_budget_s": 20,
                                                 "latency_precision": 1e-9})
    return stored(performance.compute(ctx))


def test_a_batch_size_that_spent_its_budget_says_so_with_the_precision_it_reached(frame_logistic, cancer):
    section = budget_bound(frame_logistic, cancer[0].head(200))
    latency = section["latency_ms"]
    assert {stats["stopped_by"] for stats in latency.values()} == {"budget"}
    note = pf.latency_note(section)
    assert "until both were known to ±0.0000001% or its 0.03 s budget was spent" in note
    for size, stats in latency.items():
        rows = f"{int(size):,} row{'' if size == '1' else 's'}"
        reached = f"at {pf.known_to(stats['precision'])}" if stats["precision"] is not None else (
            "before its intervals could be bounded")  # too few calls for the p95's
        assert f"{rows} stopped {reached} (budget spent)" in note
    assert "Timing took" in note
    table = next(part for part in performance_tab.render(section, {"model": {}})
                 if getattr(part, "id", None) == "run-latency-table")
    header = [th.children for th in table.children[0].children.children]
    assert header[-3:] == ["known to", "stopped by", "rows/s"]
    cells = [[td.children for td in row.children] for row in table.children[1].children]
    assert [row[-2] for row in cells] == ["budget spent"] * len(latency)
    assert [row[-3] for row in cells] == [pf.known_to(latency[s]["precision"]) for s in sorted(latency, key=int)]
    p95 = latency["1"]["p95_ci"]
    interval = cells[0][2][1].children  # the p95 cell: the value, its interval beneath
    assert interval == (f"{number(p95[0])}–{number(p95[1])}" if p95 else "no interval (too few calls)")
    assert dict(headline({"performance": section}))["p95 latency, 1 row"].endswith(
        f" ms ({pf.known_to(latency['1']['precision'])})")


def test_every_batch_size_that_reached_the_precision_is_said_in_one_phrase():
    stats = {"p50": 1.0, "p95": 1.2, "p99": 1.3, "max": 2.0, "mean": 1.1, "n_calls": 80, "p50_ci": [0.98, 1.02],
             "p95_ci": [1.15, 1.25], "precision": 0.0417, "precision_target": 0.05, "stopped_by": "precision"}
    section = {"latency_ms": {"1": stats, "10": stats},
               "latency_budget": {"per_batch_size_s": 2.0, "precision_target": 0.05, "confidence": 0.95,
                                  "seconds": 0.16}}
    assert pf.latency_note(section) == (
        "p50 and p95 come with 95% distribution-free intervals (order statistics of the timed calls). Each batch "
        "size was timed until both were known to ±5% or its 2 s budget was spent: every batch size reached ±5%. "
        "Timing took 0.16 s, with nothing else running.")
    untimed = {"latency_ms": {"1": {k: v for k, v in stats.items() if k not in ("stopped_by", "precision")}}}
    assert pf.latency_note(untimed) == ""  # a result stored before adaptive timing
    assert not [part for part in performance_tab.render(untimed, {"model": {}})
                if getattr(part, "id", None) == "run-latency-note"]


def test_robustness_figures(classifier_result):
    section = classifier_result["robustness"]
    table, heatmap = rf.robustness_table_figure(section), rf.robustness_map_figure(section)
    assert len(table.data[0].cells.values[0]) == section["total"]
    assert "mean area" in heatmap.data[0].y and "nan" in heatmap.data[0].x


def test_quality_figures(classifier_result, regression_quality):
    section = classifier_result["quality"]
    figures = dict(qf.quality_figures(section))
    assert set(figures) == {"confusion_matrix", "roc", "pr", "gains", "calibration"}
    assert figures["confusion_matrix"].data[0].z is not None
    assert len(figures["roc"].data) == 2 and "AUC" in figures["roc"].data[1].name
    assert [t.name for t in figures["gains"].data] == ["random order", "1", "perfect"]
    regression = dict(qf.quality_figures(regression_quality))
    assert set(regression) == {"predicted_actual", "residuals", "residual_histogram", "residuals_by_feature"}
    assert len(regression["residuals"].data[0].x) == regression_quality["n_rows"] == 442  # under the cap
    by_feature = qf.residuals_by_feature_figure(regression_quality, "bmi")
    assert "bmi" in by_feature.layout.title.text and len(by_feature.data[0].x) == 442
    assert qf.roc_figure(regression_quality).layout.annotations  # the "not applicable" note


def find_ids(component) -> list[str]:
    found = []
    if getattr(component, "id", None):
        found.append(component.id)
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        found += find_ids(child)
    return found


def test_tab_renderers_build_components(classifier_result, regression_quality):
    run = {"model": {}}
    perf = performance_tab.render(classifier_result["performance"], run)
    ids = [i for part in perf for i in find_ids(part)]
    assert {"run-latency-dist-graph", "run-throughput-graph", "run-latency-graph", "run-errors-graph"} <= set(ids)
    assert "run-robustness-table" in [i for p in robustness_tab.render(classifier_result["robustness"], run)
                                      for i in find_ids(p)]
    quality_ids = [i for p in quality_tab.render(classifier_result["quality"], run) for i in find_ids(p)]
    assert {"run-quality-table", "run-quality-roc-graph"} <= set(quality_ids)
    assert "run-quality-residuals-graph" in [i for p in quality_tab.render(regression_quality, run)
                                             for i in find_ids(p)]
    for tab in (performance_tab, robustness_tab, quality_tab):
        [alert] = tab.render({"skipped": "ValueError: broken"}, run)
        assert "broken" in alert.children
    assert "labelled" in quality_tab.render(None, run)[0].children


def test_a_performance_section_the_note_cannot_read_leaves_the_rest_of_the_report():
    odd = {"one row": {"p95": 1.0, "stopped_by": "budget"}}  # a batch size that is no number
    result = {**V1, "performance": {**V1["performance"], "latency_ms": odd}}
    run = {"id": "r1", "name": "odd", "status": "succeeded", "source": "api", "created_at": "2026-01-01T00:00Z",
           "duration_s": 1.0, "error": None, "gates": None, "result": result,
           "model": {"type": "LogisticRegression", "task": "classification", "n_features": 1, "sha256": "ab" * 32}}
    with pytest.raises(ValueError):
        pf.latency_note(result["performance"])
    page = html_report.render(run, None)
    assert "Figures unavailable: ValueError" in page and 'id="report-performance-note"' not in page
    assert 'id="section-robustness"' in page and 'id="report-drift-note"' in page  # the other sections render
