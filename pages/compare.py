"""Compare: pick two or more runs (v1 against v2) and see metrics side by side with deltas, and overlaid charts."""
from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html, no_update

from modelwatch.errors import ModelwatchError
from modelwatch.figures.compare import compare_figures
from modelwatch.services.compare import baseline_for, comparable_runs, compare_runs

dash.register_page(__name__, path="/compare", name="Compare", order=4, title="Compare runs · modelwatch")

COMPARE_RUNS_DROPDOWN = "compare-runs-dropdown"
COMPARE_TABLE_DIV = "compare-table-div"
COMPARE_LATENCY_GRAPH = "compare-latency-graph"
COMPARE_DRIFT_GRAPH = "compare-drift-graph"
COMPARE_IMPORTANCE_GRAPH = "compare-importance-graph"

VERDICT_CLASS = {"better": "text-success fw-bold", "worse": "text-danger fw-bold", "same": "text-muted",
                 "n/a": "text-muted"}
GRAPH_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}"


def _delta(value: float | None) -> str:
    return "" if value is None else f"{value:+.4g}"


def metrics_table(data: dict[str, Any]) -> dbc.Table:
    """Metric | baseline | each other run with its delta, coloured better (green) or worse (red)."""
    runs = data["runs"]
    header = html.Thead(html.Tr([html.Th("metric"), html.Th([runs[0]["label"], html.Div("baseline", className=
                                                                                          "small text-muted")])]
                                + [html.Th(run["label"]) for run in runs[1:]]))
    body = []
    for row in data["metrics"]:
        cells = [html.Td(row["label"], title=f"{row['key']} ({row['better']} is better)"),
                 html.Td(_fmt(row["values"][0]))]
        for value, delta, verdict in zip(row["values"][1:], row["deltas"][1:], row["verdicts"][1:]):
            cells.append(html.Td([_fmt(value), " ", html.Span(_delta(delta), className=VERDICT_CLASS[verdict])],
                                 className=f"compare-{verdict.replace('/', '')}"))
        body.append(html.Tr(cells, id={"type": "compare-metric-row", "index": row["key"]}))
    return dbc.Table([header, html.Tbody(body)], striped=True, size="sm", hover=True)


def layout(runs: str | None = None, **_kwargs) -> html.Div:
    options = [{"label": r["label"], "value": r["id"]} for r in comparable_runs()]
    known = {o["value"] for o in options}
    chosen = [i for i in (runs or "").split(",") if i in known]
    if len(chosen) == 1:  # from a run page: against the previous run of the same model
        baseline = baseline_for(chosen[0])
        chosen = [baseline, *chosen] if baseline else chosen
    if not chosen:  # the two newest runs, the older one as the baseline: "v1 against v2"
        chosen = [o["value"] for o in options[:2]][::-1]
    return html.Div([
        html.H2("Compare runs"),
        html.P("The first run is the baseline; deltas are green when better, red when worse.",
               className="text-muted"),
        dcc.Dropdown(id=COMPARE_RUNS_DROPDOWN, options=options, value=chosen, multi=True,
                     placeholder="pick two or more runs", className="mb-3"),
        html.Div(id=COMPARE_TABLE_DIV),
        dcc.Graph(id=COMPARE_LATENCY_GRAPH, config=GRAPH_CONFIG),
        dcc.Graph(id=COMPARE_DRIFT_GRAPH, config=GRAPH_CONFIG),
        dcc.Graph(id=COMPARE_IMPORTANCE_GRAPH, config=GRAPH_CONFIG),
    ])


@callback(
    Output(COMPARE_TABLE_DIV, "children"),
    Output(COMPARE_LATENCY_GRAPH, "figure"),
    Output(COMPARE_DRIFT_GRAPH, "figure"),
    Output(COMPARE_IMPORTANCE_GRAPH, "figure"),
    Input(COMPARE_RUNS_DROPDOWN, "value"),
)
def update(run_ids: list[str] | None):
    if not run_ids or len(run_ids) < 2:
        return dbc.Alert("Pick at least two runs.", color="secondary"), no_update, no_update, no_update
    try:
        data = compare_runs(run_ids)
    except ModelwatchError as exc:
        return dbc.Alert(exc.message, color="warning"), no_update, no_update, no_update
    figures = dict(compare_figures(data["runs"]))
    return metrics_table(data), figures["latency"], figures["drift"], figures["importance"]
