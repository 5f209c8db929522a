"""Monitoring of one model (/monitoring/<name>): drift share over time, the feature x time drift heatmap,
predictions and quality over batch time, the alerts that fired and the webhook delivery log; refreshed every 30 s."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html
from dash.exceptions import PreventUpdate

from modelwatch.errors import ModelwatchError
from modelwatch.figures import monitoring as figures
from modelwatch.figures.format import GRAPH_CONFIG
from modelwatch.services import alerting, monitoring, webhooks

dash.register_page(__name__, path_template="/monitoring/<name>", name="Monitoring", title="Monitoring · modelwatch")

MONITORING_NAME_STORE = "monitoring-name-store"
MONITORING_REFRESH_INTERVAL = "monitoring-refresh-interval"
MONITORING_SHARE_GRAPH = "monitoring-share-graph"
MONITORING_HEATMAP_GRAPH = "monitoring-heatmap-graph"
MONITORING_PREDICTION_GRAPH = "monitoring-prediction-graph"
MONITORING_QUALITY_GRAPH = "monitoring-quality-graph"
MONITORING_EVENTS_DIV = "monitoring-events-div"
REFRESH_MS = 30_000


def layout(name: str = "", **_kwargs) -> html.Div:
    return html.Div([
        html.H2(["Monitoring ", html.Code(name)]),
        dcc.Link("← the model's versions", href=f"/models/{name}", className="d-block mb-3"),
        dcc.Store(id=MONITORING_NAME_STORE, data=name),
        dcc.Interval(id=MONITORING_REFRESH_INTERVAL, interval=REFRESH_MS),
        dbc.Row([dbc.Col(dcc.Graph(id=MONITORING_SHARE_GRAPH, config=GRAPH_CONFIG), lg=6),
                 dbc.Col(dcc.Graph(id=MONITORING_PREDICTION_GRAPH, config=GRAPH_CONFIG), lg=6)]),
        dcc.Graph(id=MONITORING_HEATMAP_GRAPH, config=GRAPH_CONFIG),
        dcc.Graph(id=MONITORING_QUALITY_GRAPH, config=GRAPH_CONFIG),
        html.Div(id=MONITORING_EVENTS_DIV),
    ])


def events_and_deliveries(name: str) -> list:
    alerts = alerting.alerts_dict(name)
    events = [html.Li(f"{e['created_at'][:19].replace('T', ' ')} · {e['message']}") for e in alerts["events"]]
    log = [html.Tr([html.Td(d.id), html.Td(hook.url), html.Td(d.status), html.Td(d.attempts),
                    html.Td(d.last_status_code or d.last_error or "")])
           for hook, d in webhooks.recent_for_model(name)]
    return [
        html.H4("Alerts fired"),
        html.Ul(events) if events else html.P("None yet.", className="text-muted"),
        html.H4("Webhook deliveries"),
        dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("#", "destination", "status", "attempts", "answer")])),
                   html.Tbody(log)], size="sm") if log else html.P("None yet.", className="text-muted"),
    ]


@callback(
    Output(MONITORING_SHARE_GRAPH, "figure"),
    Output(MONITORING_HEATMAP_GRAPH, "figure"),
    Output(MONITORING_PREDICTION_GRAPH, "figure"),
    Output(MONITORING_QUALITY_GRAPH, "figure"),
    Output(MONITORING_EVENTS_DIV, "children"),
    Input(MONITORING_NAME_STORE, "data"),
    Input(MONITORING_REFRESH_INTERVAL, "n_intervals"),
)
def show(name: str | None, _n: int | None):
    if not name:
        raise PreventUpdate
    try:
        data = monitoring.series(name)
    except ModelwatchError as exc:
        empty = figures.empty_figure("No data")
        return empty, empty, empty, empty, dbc.Alert(exc.message, color="warning")
    return (figures.drift_share_figure(data), figures.drift_heatmap_figure(data), figures.prediction_figure(data),
            figures.quality_figure(data), events_and_deliveries(name))
