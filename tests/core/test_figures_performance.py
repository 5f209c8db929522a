"""Figures and tab renderers of performance, robustness and quality, built from real result dicts."""
from __future__ import annotations

import json

import plotly.graph_objects as go
import pytest
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

from modelwatch.core.checks import performance, quality, robustness
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.dashboard.sections import performance as performance_tab
from modelwatch.dashboard.sections import quality as quality_tab
from modelwatch.dashboard.sections import robustness as robustness_tab
from modelwatch.figures import performance as pf
from modelwatch.figures import quality as qf
from modelwatch.figures import robustness as rf
from tests.core.suite_context import make_context


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
