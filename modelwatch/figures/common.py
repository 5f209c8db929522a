"""What every figure module shares: a placeholder figure for a chart that has nothing to show."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go


def empty_figure(title: str, message: str, layout: dict[str, Any]) -> go.Figure:
    """A titled, axis-less figure that says why there is no chart (keeps the page's grid in place)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14})
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, **{"height": 300, **layout})
    return fig
