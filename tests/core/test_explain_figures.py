"""Explainability figures and the run-page tab, built from a real section."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from modelwatch.core.explain.section import compute
from modelwatch.dashboard.sections import explainability
from modelwatch.figures import explain as figures
from tests.core.suite_context import make_context


@pytest.fixture(scope="module")
def section():
    rng = np.random.default_rng(2)
    n = 150
    frame = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                          "color": rng.choice(["red", "green", "blue"], n)})
    y = ((frame["a"] + 1.5 * (frame["color"] == "red")) > 0.5).astype(int)
    pre = make_column_transformer((StandardScaler(), ["a", "b"]), (OneHotEncoder(), ["color"]))
    model = make_pipeline(pre, LogisticRegression()).fit(frame, y)
    ctx = make_context(model, frame, schema={"features": []}, explain={"max_samples": 30, "background": 40})
    ctx.results["drift"] = {"strongest": {"feature": "a", "kind": "mean_shift", "severity": 2.0}}
    return compute(ctx)


def test_figures_show_the_section(section):
    bar = figures.importance_figure(section)
    assert list(bar.data[0].y)[::-1] == [e["feature"] for e in section["feature_importance"]]
    swarm = figures.beeswarm_figure(section)
    assert len(swarm.data) == 3 and all(len(t.x) == 30 for t in swarm.data)
    dependence = figures.dependence_figure(section, "a")
    assert "colour" in dependence.layout.title.text
    sample = {**section["samples"][4], "index": 4}
    waterfall = figures.waterfall_figure(sample)
    trace = waterfall.data[0]
    assert isinstance(trace, go.Waterfall)
    assert trace.x[0] == pytest.approx(sample["base_value"]) and trace.x[-1] == pytest.approx(sample["prediction"])
    assert sum(trace.x[1:-1]) + trace.x[0] == pytest.approx(trace.x[-1])
    shift = figures.drift_shift_figure(section)
    assert [t.name for t in shift.data] == ["reference", "drifted"]


def test_figures_of_an_empty_or_skipped_section():
    assert figures.importance_figure({}).layout.annotations
    assert figures.waterfall_figure(None).layout.annotations
    skipped = figures.drift_shift_figure({"drift": {"skipped": "nothing to compare"}})
    assert "nothing" in skipped.layout.annotations[0].text


def test_tab_renders_and_clicking_a_row_draws_its_waterfall(section):
    components = explainability.render(section, {})
    text = str(components)
    assert explainability.SAMPLES_GRID in text and explainability.WATERFALL_GRAPH in text
    store = next(c for c in _walk(components) if getattr(c, "id", None) == explainability.SAMPLES_STORE)
    cell = {"rowId": "7", "rowIndex": 0, "colId": "prediction"}
    figure, agreement = explainability.show_sample(cell, "shap", None, store.data)
    assert figure.layout.title.text.startswith("Row 7") and "top 3 features" in agreement
    lime, _ = explainability.show_sample(cell, "lime", None, store.data)
    assert "LIME weights" in lime.layout.title.text and len(lime.data[0].x) == 3
    assert section["lime"]["n_rows"] == 10 and "agreement" in section["samples"][7]["lime"]
    assert explainability.render({"skipped": "no time"}, {})[0].color == "warning"


def _walk(component):
    if isinstance(component, list | tuple):
        for c in component:
            yield from _walk(c)
        return
    yield component
    children = getattr(component, "children", None)
    if children is not None and not isinstance(children, str):
        yield from _walk(children)
