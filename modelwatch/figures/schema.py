"""Schema page figures: one histogram per generated feature, from the preview summary the service computes."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

LAYOUT = {"template": "plotly_white", "height": 220, "margin": {"l": 50, "r": 10, "t": 40, "b": 40},
          "showlegend": False}


def feature_histogram(summary: dict[str, Any]) -> go.Figure:
    """A histogram of one feature's generated values.

    ``summary`` is ``{"name", "type", "kind": "numeric"|"categorical", "edges" and "counts" | "categories"
    and "counts", "missing", "n"}`` (see ``services.schemas.summarise``).
    """
    fig = go.Figure()
    counts = summary.get("counts") or []
    if summary.get("kind") == "numeric" and counts:
        edges = summary["edges"]
        centres = [(a + b) / 2 for a, b in zip(edges, edges[1:])]
        widths = [b - a for a, b in zip(edges, edges[1:])]
        fig.add_trace(go.Bar(x=centres, y=counts, width=widths, marker_color="#2a6fdb", marker_line_width=0,
                             hovertemplate="%{x:,.3~r}: %{y:,} rows<extra></extra>"))
        fig.update_layout(bargap=0)
    elif counts:
        fig.add_trace(go.Bar(x=[str(c) for c in summary["categories"]], y=counts, marker_color="#7a4cc2",
                             hovertemplate="%{x}: %{y} rows<extra></extra>"))
        fig.update_xaxes(type="category")
    else:
        fig.add_annotation(text="no values", showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    n = summary.get("n") or 0
    missing = summary.get("missing") or 0
    suffix = f" · {missing / n:.0%} missing" if n and missing else ""
    fig.update_layout(title={"text": f"{summary.get('name')} ({summary.get('type')}){suffix}", "font": {"size": 13}},
                      **LAYOUT)
    fig.update_xaxes(title_text="generated value", title_font_size=11)
    fig.update_yaxes(title_text="rows", title_font_size=11)
    return fig
