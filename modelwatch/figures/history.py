"""History's chart: one headline metric across runs over time, a line per model (MLflow's metric-over-runs view)."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from modelwatch.figures.common import OKABE_ITO, empty_figure, style_figure
from modelwatch.figures.format import number

HEIGHT = 360


def metric_over_runs(rows: list[dict[str, Any]], field: str, label: str) -> go.Figure:
    """``field`` of each run against its creation time, oldest first, one line per model.

    Args:
        rows: History's grid rows (``model``, ``created_at`` ISO, ``verdict`` and the metric fields), as filtered
            in the grid.
        field: the metric's field; ``label``: its name on the axis.
    """
    title = f"{label} across runs"
    models: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if isinstance(row.get(field), (int, float)) and row.get("created_at"):
            models.setdefault(row["model"], []).append(row)
    if not models:
        return empty_figure(title, "no listed run has this metric", {"height": HEIGHT})
    fig = go.Figure()
    for i, (model, runs) in enumerate(sorted(models.items())):
        runs = sorted(runs, key=lambda r: r["created_at"])
        fig.add_trace(go.Scatter(
            x=[r["created_at"] for r in runs], y=[r[field] for r in runs], mode="lines+markers", name=model,
            line={"color": OKABE_ITO[i % len(OKABE_ITO)]}, marker={"size": 8},
            customdata=[[number(r[field]), r.get("verdict") or "—", r.get("created_title", "")] for r in runs],
            hovertemplate="%{customdata[0]} · verdict %{customdata[1]}<br>%{customdata[2]}<extra>" + model
                          + "</extra>"))
    style_figure(fig, title, "run created (UTC)", label, height=HEIGHT)
    fig.update_yaxes(tickformat=",.3~r")
    return fig
