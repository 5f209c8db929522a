"""The house chart style: titles clear of the modebar, axis titles, legends that never cover the title."""
import plotly.graph_objects as go

from modelwatch.figures.common import TOP_MARGIN, style_figure
from modelwatch.figures.compare import compare_figures
from tests.factories import V1, V2


def test_style_sets_title_axes_margin_and_legend():
    fig = style_figure(go.Figure(go.Scatter(x=[1, 2], y=[3, 4], name="a")), "Latency", "batch size", "ms")
    assert fig.layout.title.text == "Latency" and fig.layout.margin.t >= TOP_MARGIN >= 60
    assert fig.layout.xaxis.title.text == "batch size" and fig.layout.yaxis.title.text == "ms"
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yanchor == "bottom"
    crowded = style_figure(go.Figure([go.Scatter(y=[i], name=f"run {i}") for i in range(6)]), "Runs")
    assert crowded.layout.legend.orientation == "v" and crowded.layout.legend.x > 1


def test_every_compare_chart_has_a_title_and_axis_titles():
    from modelwatch.services.compare import judged_metrics

    runs = [{"label": "v1", "result": V1}, {"label": "v2", "result": V2}]
    for name, fig in compare_figures(runs, judged_metrics([V1, V2])):
        assert fig.layout.title.text, name
        assert fig.layout.yaxis.title.text, name
        assert fig.layout.xaxis.title.text or name == "parallel", name  # parallel: the axes are the metrics
