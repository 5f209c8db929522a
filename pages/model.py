"""One registered model (/models/<name>): its versions with their runs' verdicts, the headline metrics across
versions and runs, and its alert rules."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from modelwatch.errors import ModelwatchError
from modelwatch.figures.format import GRAPH_CONFIG
from modelwatch.figures.monitoring import trend_figure
from modelwatch.services import alerting, registry

dash.register_page(__name__, path_template="/models/<name>", name="Model", title="Model · modelwatch")

MODEL_TREND_GRAPH = "model-trend-graph"
VERDICT_COLOR = {"pass": "success", "warn": "warning", "fail": "danger", "incomplete": "secondary"}


def verdict_badge(verdict: str | None) -> dbc.Badge:
    return dbc.Badge(verdict or "–", color=VERDICT_COLOR.get(verdict or "", "light"), text_color=None
                     if verdict in VERDICT_COLOR else "dark", className="me-1")


def versions_table(model: dict) -> dbc.Table:
    rows = []
    for version in reversed(model["versions"]):
        runs = [html.Span([dcc.Link(run["id"][:8], href=f"/runs/{run['id']}"), " ", verdict_badge(run["verdict"])],
                          className="me-2") for run in version["runs"][:5]]
        rows.append(html.Tr([html.Td([f"v{version['number']} ",
                                      dbc.Badge("champion", color="primary") if version["champion"] else None]),
                             html.Td(version["sha256"][:12], className="font-monospace"),
                             html.Td(version["created_at"][:19].replace("T", " ")), html.Td(runs)]))
    header = html.Thead(html.Tr([html.Th(h) for h in ("version", "sha256", "registered", "runs (verdict)")]))
    return dbc.Table([header, html.Tbody(rows)], size="sm", hover=True)


def rules_list(alerts: dict) -> html.Div:
    if not alerts["rules"]:
        return html.P("No alert rules (POST /api/models/<name>/alerts).", className="text-muted")
    items = [html.Li([f"{r['metric']} {r['op']} {r['value']} on each {r['source']}",
                      f" ({r['consecutive']} in a row)" if r["consecutive"] > 1 else "",
                      dbc.Badge("firing", color="danger", className="ms-2") if r["firing"] else None])
             for r in alerts["rules"]]
    return html.Ul(items)


def layout(name: str = "", **_kwargs) -> html.Div:
    try:
        model = registry.get_model(name)
    except ModelwatchError as exc:
        return html.Div([html.H2(name), dbc.Alert(exc.message, color="warning")])
    data = registry.model_dict(model)
    points = registry.trend_points(model)
    return html.Div([
        html.H2(["Model ", html.Code(name)]),
        html.P(data["description"] or "", className="text-muted"),
        dcc.Link("Monitoring: production batches over time →", href=f"/monitoring/{name}",
                 className="d-block mb-3"),
        html.H4("Versions"),
        versions_table(data),
        dcc.Graph(id=MODEL_TREND_GRAPH, figure=trend_figure(points), config=GRAPH_CONFIG) if points else
        html.P("No finished run yet: the trend chart appears after the first one.", className="text-muted"),
        html.H4("Alert rules"),
        rules_list(alerting.alerts_dict(name)),
    ])
