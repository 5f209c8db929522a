"""What every figure module shares: one chart style (titles, axis titles, legends, margins that leave the modebar
room above the plot) and a placeholder figure for a chart that has nothing to show."""
from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

# Colour-blind-safe categorical colours (Okabe-Ito), for charts with one trace per run or per class.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
TOP_MARGIN = 70  # the title sits below the hover modebar (about 30 px) instead of under it
BASE_LAYOUT: dict[str, Any] = {"template": "plotly_white", "font": {"size": 12},
                               "margin": {"l": 60, "r": 20, "t": TOP_MARGIN, "b": 60},
                               "title": {"x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top",
                                         "font": {"size": 15}},
                               "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
                               "hoverlabel": {"namelength": -1}}


LEGEND_ON_TOP = 4  # more entries than this go in a column on the right
SIDE_LEGEND = {"orientation": "v", "x": 1.02, "xanchor": "left", "y": 1, "yanchor": "top"}


def style_figure(fig: go.Figure, title: str, x_title: str | None = None, y_title: str | None = None,
                 height: int | None = None, **layout: Any) -> go.Figure:
    """Give ``fig`` the house style: a left-aligned title clear of the modebar, the legend between title and plot
    (never floating below the axis; on the right when long), axis titles where given, automargins so long tick
    labels are never cut."""
    fig.update_layout(**BASE_LAYOUT)
    if sum(1 for trace in fig.data if trace.showlegend is not False and trace.name) > LEGEND_ON_TOP:
        fig.update_layout(legend=SIDE_LEGEND)  # a long legend on top would push into the title
    fig.update_layout(title={"text": title}, **({"height": height} if height else {}), **layout)
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    fig.update_xaxes(automargin=True)
    fig.update_yaxes(automargin=True)
    return fig


def empty_figure(title: str, message: str, layout: dict[str, Any]) -> go.Figure:
    """A titled, axis-less figure that says why there is no chart (keeps the page's grid in place)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font={"size": 14})
    fig.update_layout(**{"height": 300, **layout})
    fig.update_layout(title={"text": title}, xaxis_visible=False, yaxis_visible=False)
    return fig
