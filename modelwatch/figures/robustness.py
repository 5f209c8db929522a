"""Robustness figures: the case table and a feature-by-case status map."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

STATUS_COLOR = {"ok": "#2ca02c", "degraded": "#ff7f0e", "error": "#d62728"}
STATUS_CODE = {"ok": 0, "degraded": 1, "error": 2}
LAYOUT = {"template": "plotly_white", "margin": {"l": 140, "r": 20, "t": 50, "b": 60}}


def robustness_table_figure(robustness: dict[str, Any]) -> go.Figure:
    """Every case as a table row, its status cell coloured."""
    cases = robustness.get("cases") or []
    columns = ["name", "feature", "value", "status", "message"]
    cells = [[str(c.get(col) if c.get(col) is not None else "") for c in cases] for col in columns]
    white = ["white"] * len(cases)
    fill = [white, white, white, [STATUS_COLOR.get(c["status"], "white") for c in cases], white]
    fig = go.Figure(go.Table(header={"values": columns, "fill_color": "#eeeeee", "align": "left"},
                             cells={"values": cells, "fill_color": fill, "align": "left", "height": 24},
                             columnwidth=[2, 2, 1.2, 1, 6]))
    passed, total = robustness.get("passed", 0), robustness.get("total", len(cases))
    fig.update_layout(title=f"Robustness cases: {passed}/{total} ok", height=min(120 + 26 * len(cases), 900),
                      template="plotly_white", margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return fig


def robustness_map_figure(robustness: dict[str, Any]) -> go.Figure:
    """Features (rows) by case kind (columns), coloured ok / degraded / error."""
    cases = [c for c in robustness.get("cases") or [] if c.get("feature") is not None]
    features = list(dict.fromkeys(c["feature"] for c in cases))
    kinds = list(dict.fromkeys(c.get("kind") or c["name"].split(":")[0] for c in cases))
    z: list[list[float | None]] = [[None] * len(kinds) for _ in features]
    text: list[list[str]] = [[""] * len(kinds) for _ in features]
    for c in cases:
        i, j = features.index(c["feature"]), kinds.index(c.get("kind") or c["name"].split(":")[0])
        z[i][j] = STATUS_CODE.get(c["status"])
        text[i][j] = f"{c['status']}: {c.get('message', '')[:120]}"
    scale = [[0, STATUS_COLOR["ok"]], [0.33, STATUS_COLOR["ok"]], [0.34, STATUS_COLOR["degraded"]],
             [0.66, STATUS_COLOR["degraded"]], [0.67, STATUS_COLOR["error"]], [1, STATUS_COLOR["error"]]]
    fig = go.Figure(go.Heatmap(z=z, x=kinds, y=features, text=text, zmin=0, zmax=2, colorscale=scale,
                               showscale=False, xgap=2, ygap=2,
                               hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>"))
    fig.update_layout(title="Status by feature and case (green ok, orange degraded, red error)",
                      height=max(260, 60 + 22 * len(features)), yaxis_autorange="reversed", **LAYOUT)
    return fig


def robustness_figures(robustness: dict[str, Any]) -> list[tuple[str, go.Figure]]:
    """Every robustness figure with a name, for the run page and the HTML export."""
    return [("robustness_map", robustness_map_figure(robustness)),
            ("robustness_table", robustness_table_figure(robustness))]
