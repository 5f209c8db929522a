"""Pure figure builders of a model's life: headline metrics across versions and runs, and the monitoring views
(drift share, feature x time drift heatmap, predictions and quality over batch time)."""
from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go

from modelwatch.core.results.report import label
from modelwatch.figures.common import style_figure


def _layout(fig: go.Figure, title: str, y_title: str = "", x_title: str = "batch time (UTC)") -> go.Figure:
    return style_figure(fig, title, x_title, y_title, height=320)


def empty_figure(title: str) -> go.Figure:
    return _layout(go.Figure(), title)


def trend_figure(points: list[dict[str, Any]]) -> go.Figure:
    """Every headline metric across runs, oldest first, one line each (x: ``v<version> · <run id>``).

    Args:
        points: ``[{"x": str, "metrics": {key: value}}]`` from the model's runs.
    """
    fig = go.Figure()
    keys = sorted({key for point in points for key in point["metrics"]})
    for key in keys:
        fig.add_scatter(x=[p["x"] for p in points], y=[p["metrics"].get(key) for p in points], mode="lines+markers",
                        name=label(key))
    return _layout(fig, "Headline metrics across versions and runs", "value", "version · run")


def heatmap_data(series: dict[str, Any]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Features, batch times, and the feature x batch matrix: 1 drifted, 0 not, -1 compared on other features."""
    return series["features"], series["times"], series["flags"]


def drift_share_figure(series: dict[str, Any]) -> go.Figure:
    fig = go.Figure(go.Scattergl(x=series["times"], y=series["share_drifted"], mode="lines", name="share drifted"))
    flagged = np.flatnonzero(series["dataset_drift"])
    if flagged.size:
        fig.add_scattergl(x=series["times"][flagged], y=series["share_drifted"][flagged], mode="markers",
                          name="dataset drift", marker={"color": "crimson", "size": 6})
    fig.update_yaxes(range=[0, 1.02])
    fig.update_yaxes(tickformat=".0%")
    return _layout(fig, "Share of drifted features per batch", "share of features drifted")


def drift_heatmap_figure(series: dict[str, Any]) -> go.Figure:
    features, times, flags = heatmap_data(series)
    fig = go.Figure(go.Heatmap(z=np.where(flags < 0, np.nan, flags), x=times, y=features, zmin=0, zmax=1,
                               showscale=False, colorscale=[[0, "#eef2f7"], [1, "#d62728"]],
                               hovertemplate="%{y}<br>%{x}<br>drifted: %{z}<extra></extra>"))
    fig = _layout(fig, "Drift per feature over time (red: drifted)", "feature")
    fig.update_layout(height=max(260, 40 + 22 * len(features)))
    return fig


def prediction_figure(series: dict[str, Any]) -> go.Figure:
    """The prediction drift statistic and the mean prediction (when numeric) per batch."""
    fig = go.Figure()
    for name, key in (("prediction drift statistic", "prediction_drift"), ("mean prediction", "prediction_mean")):
        if np.isfinite(series[key]).any():
            fig.add_scattergl(x=series["times"], y=series[key], mode="lines", name=name)
    return _layout(fig, "Predictions over time", "prediction")


def quality_figure(series: dict[str, Any]) -> go.Figure:
    """Each quality metric per batch, where labels (sent with the batch or later) exist."""
    fig = go.Figure()
    for metric, values in sorted(series["quality"].items()):
        known = np.isfinite(values)
        fig.add_scattergl(x=series["times"][known], y=values[known], mode="lines+markers", name=label(metric))
    return _layout(fig, "Quality over time (labelled batches)", "metric value")
