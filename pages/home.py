"""Home: what modelwatch does, recent runs and counts by status, and two ways in: upload, or try an example."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html

from modelwatch.auth.permissions import WRITE
from modelwatch.dashboard import ids
from modelwatch.dashboard.access import can
from modelwatch.errors import ModelwatchError
from modelwatch.figures.format import absolute_time, relative_time
from modelwatch.models import utcnow
from modelwatch.run_status import RunStatus
from modelwatch.services import runs
from modelwatch.services.demo import run_examples

dash.register_page(__name__, path="/", name="Home", order=0, title="modelwatch")

HOME_RECENT_LIST = "home-recent-list"
HOME_UPLOAD_BUTTON = "home-upload-button"
HOME_EXAMPLE_BUTTON = "home-example-button"
HOME_EXAMPLE_DIV = "home-example-div"
HOME_COUNTS_DIV = "home-counts-div"
HOME_REFRESH_INTERVAL = "home-refresh-interval"

STATUS_COLORS = ((RunStatus.QUEUED, "secondary"), (RunStatus.RUNNING, "info"), (RunStatus.SUCCEEDED, "success"),
                 (RunStatus.FAILED, "danger"))


def recent() -> tuple[list, list, int]:
    """Badges of counts by status, the latest runs as list items, and the number of runs."""
    latest, total, _next = runs.list_runs(limit=8)
    counts = runs.count_by_status()
    badges = [dbc.Badge(f"{status}: {counts.get(status, 0)}", color=color, className="me-2", id=f"home-{status}-count")
              for status, color in STATUS_COLORS]
    now = utcnow()
    items = [
        dbc.ListGroupItem([html.A(run.name, href=f"/runs/{run.id}"),
                           html.Span(f" · {run.status} · {relative_time(run.created_at, now)}",
                                     title=absolute_time(run.created_at), className="text-muted small")])
        for run in latest
    ] or [dbc.ListGroupItem("No runs yet: upload a model, or try an example.")]
    return badges, items, total


def layout(**_kwargs) -> html.Div:
    badges, items, total = recent()
    return html.Div([
        html.H2("Is this model fit to ship?"),
        html.P("Upload a scikit-learn, XGBoost or LightGBM model and modelwatch measures its latency, robustness, "
               "quality, drift behaviour and explanations, safely, in a sandbox.", className="lead"),
        html.Div([
            dbc.Button("Upload a model", href="/upload", color="primary", id=HOME_UPLOAD_BUTTON, className="me-2"),
            dbc.Button("Try an example", id=HOME_EXAMPLE_BUTTON, color="outline-primary", n_clicks=0),
            html.Span(" three models trained on scikit-learn's bundled datasets: a breast-cancer forest, a diabetes "
                      "regressor and a churn pipeline with text categories", className="text-muted small ms-2"),
        ], className="mb-2") if can(WRITE) else None,
        dcc.Loading(html.Div(id=HOME_EXAMPLE_DIV, className="mb-3"), type="dot"),
        dcc.Interval(id=HOME_REFRESH_INTERVAL, interval=3000),
        html.H4("Recent runs"),
        html.Div(badges, id=HOME_COUNTS_DIV, className="mb-2"),
        dbc.ListGroup(items, id=HOME_RECENT_LIST),
        html.Div([f"{total} runs in all · ", html.A("History", href="/history"), " · ",
                  html.A("Compare", href="/compare")], className="text-muted small mt-2"),
    ])


@callback(Output(HOME_COUNTS_DIV, "children"), Output(HOME_RECENT_LIST, "children"),
          Input(HOME_REFRESH_INTERVAL, "n_intervals"), prevent_initial_call=True)
def refresh(_n):
    badges, items, _ = recent()
    return badges, items


@callback(Output(HOME_EXAMPLE_DIV, "children"), Output(ids.SHELL_LOCATION, "href", allow_duplicate=True),
          Input(HOME_EXAMPLE_BUTTON, "n_clicks"), prevent_initial_call=True,
          running=[(Output(HOME_EXAMPLE_BUTTON, "disabled"), True, False)])
def try_examples(n_clicks: int):
    if not n_clicks:
        return dash.no_update, dash.no_update
    try:
        submitted = run_examples()
    except ModelwatchError as exc:
        return dbc.Alert(exc.message, color="danger"), dash.no_update
    links = [html.Li(html.A(run.name, href=f"/runs/{run.id}")) for run in submitted]
    # the first example's page shows its progress live; the others are on History
    return html.Ul(links), f"/runs/{submitted[0].id}"
