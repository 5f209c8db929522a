"""Pure figure builders of a model's life: headline metrics across versions and runs, and the monitoring views
(drift share, feature x time drift heatmap, predictions and quality over batch time)."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from modelwatch.core.report import label


def _layout(fig: go.Figure, title: str, y_title: str = "") -> go.Figure:
    fig.update_layout(title=title, template="plotly_white", height=320, margin={"l": 50, "r": 20, "t": 50, "b": 40},
                      yaxis_title=y_title, legend={"orientation": "h", "y": -0.2})
    return fig


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
    return _layout(fig, "Headline metrics across versions and runs")


def heatmap_data(series: dict[str, Any]) -> tuple[list[str], list[Any], list[list[int]]]:
    """Features, batch times, and for each feature a row of 1 (drifted) / 0 per batch."""
    features = sorted({name for summary in series["summaries"] for name in summary["drift"]["features"]})
    flags = [[int(bool(s["drift"]["features"].get(name, [False])[0])) for s in series["summaries"]]
             for name in features]
    return features, series["times"], flags


def drift_share_figure(series: dict[str, Any]) -> go.Figure:
    fig = go.Figure(go.Scatter(x=series["times"], y=series["share_drifted"], mode="lines", name="share drifted"))
    flagged = [(t, s) for t, s, summary in zip(series["times"], series["share_drifted"], series["summaries"])
               if summary["drift"]["dataset_drift"]]
    if flagged:
        fig.add_scatter(x=[t for t, _ in flagged], y=[s for _, s in flagged], mode="markers", name="dataset drift",
                        marker={"color": "crimson", "size": 7})
    fig.update_yaxes(range=[0, 1.02])
    return _layout(fig, "Share of drifted features per batch", "share")


def drift_heatmap_figure(series: dict[str, Any]) -> go.Figure:
    features, times, flags = heatmap_data(series)
    fig = go.Figure(go.Heatmap(z=flags, x=times, y=features, zmin=0, zmax=1, showscale=False,
                               colorscale=[[0, "#eef2f7"], [1, "#d62728"]],
                               hovertemplate="%{y}<br>%{x}<br>drifted: %{z}<extra></extra>"))
    fig = _layout(fig, "Drift per feature over time (red: drifted)")
    fig.update_layout(height=max(260, 40 + 22 * len(features)))
    return fig


def _series_of(series: dict[str, Any], section: str, *path: str) -> list[Any]:
    values = []
    for summary in series["summaries"]:
        node: Any = summary.get(section) or {}
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        values.append(node)
    return values


def prediction_figure(series: dict[str, Any]) -> go.Figure:
    """The prediction drift statistic (and the mean prediction when numeric) per batch."""
    fig = go.Figure()
    for name, path in (("prediction drift statistic", ("drift", "statistic")), ("mean prediction", ("mean",))):
        values = _series_of(series, "prediction", *path)
        if any(v is not None for v in values):
            fig.add_scatter(x=series["times"], y=values, mode="lines", name=name)
    return _layout(fig, "Predictions over time")


def quality_figure(series: dict[str, Any]) -> go.Figure:
    """Each quality metric per batch, where labels (sent with the batch or later) exist."""
    fig = go.Figure()
    metrics = sorted({m for s in series["summaries"] for m in ((s.get("quality") or {}).get("metrics") or {})})
    for metric in metrics:
        fig.add_scatter(x=series["times"], y=_series_of(series, "quality", "metrics", metric), mode="lines+markers",
                        name=label(metric), connectgaps=False)
    return _layout(fig, "Quality over time (labelled batches)")
