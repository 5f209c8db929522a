"""Drift figures and the Drift tab render from a real section dict (and from a skipped one)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.linear_model import LinearRegression

from modelwatch.core.drift import section
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.dashboard.sections.drift import render
from modelwatch.figures.drift import distribution_figure, drift_figures, drift_note, severity_curves
from modelwatch.figures.format import percent, percent_interval
from tests.core.suite_context import make_context


def test_figures_and_tab_from_a_section():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    model = LinearRegression().fit(X, 2 * X["a"] + X["b"])
    current = X.assign(a=X["a"] + 1)
    ctx = make_context(model, X, current=current, thresholds={"drift.scenario.impact": {"max": 1.0}},
                       drift={"kinds": ["mean_shift", "missing"], "severities": [0.5, 1.0, 2.0], "resamples": 3})
    drift = to_jsonable(section.compute(ctx))
    figures = dict(drift_figures(drift))
    assert {"current", "heatmap", "curves", "detection", "distribution-0"} <= set(figures)
    assert all(isinstance(f, go.Figure) for f in figures.values())
    # the breaking point of a's mean shift (impact 2 * 0.5 / std > 1 at 1.0) is marked on its curve
    curves = severity_curves(drift)
    assert any(t.marker.symbol == "x" for t in curves.data if t.mode == "markers")
    dist = distribution_figure(drift, "a")
    assert {t.name for t in dist.data} >= {"reference", "mean_shift 2", "current"}
    assert render(drift, {}) and render({"skipped": "no model"}, {})[0].color == "warning"
    # the tab explains severity, and a model that raised on missing values is a breaking point, not "holds"
    tab = str(render(drift, {}))
    assert "What severity means" in tab and "model raised ValueError" in tab
    # a power is a share of 3 resamples here: its interval is said beside it, and the false-positive rate's too
    fpr = drift["false_positive_rate"]
    assert (f"severity 0: {percent(fpr['overall'])} (95% interval {percent_interval(fpr['overall_ci'])}, from 3 "
            f"resamples of each of 2 features)") in tab
    detection = figures["detection"].data[0].cells.values[7]
    first = next(s for s in drift["scenarios"] if s["power"] is not None)
    assert detection[drift["scenarios"].index(first)] == (
        f"{percent(first['power'])} ({percent_interval(first['power_ci'])})")
    assert "power, 95% interval" in tab
    assert drift_note({**drift, "truncated": True}).endswith("Stopped early: time budget.")  # the report says it too
