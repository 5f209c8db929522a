"""A run: its progress while it goes (stage, bar, elapsed timer, cancel), then its result in tabs and its exports."""
from __future__ import annotations

from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from dash.exceptions import PreventUpdate

from modelwatch.auth.permissions import WRITE
from modelwatch.dashboard import verdict
from modelwatch.dashboard.access import can
from modelwatch.dashboard.sections import render_tabs
from modelwatch.errors import NotFound
from modelwatch.services import audit, runs
from modelwatch.services.presenters import run_dict

dash.register_page(__name__, path_template="/runs/<run_id>", name="Run", title="Run · modelwatch")

RUN_ID_STORE = "run-id-store"
RUN_POLL_INTERVAL = "run-poll-interval"
RUN_HEADER_DIV = "run-header-div"
RUN_PROGRESS_BAR = "run-progress-bar"
RUN_STATUS_DIV = "run-status-div"
RUN_RESULT_DIV = "run-result-div"
RUN_ACTIONS_DIV = "run-actions-div"
RUN_CANCEL_BUTTON = "run-cancel-button"
RUN_CANCEL_FEEDBACK = "run-cancel-feedback"
RUN_TIMER_STORE = "run-timer-store"
RUN_TIMER_INTERVAL = "run-timer-interval"
RUN_ELAPSED_TEXT = "run-elapsed-text"

STATUS_COLORS = {"queued": "secondary", "running": "info", "succeeded": "success", "failed": "danger"}
EXPORTS = (("HTML report", "report.html?download=1"), ("JSON", "report.json"), ("metrics CSV", "metrics.csv"),
           ("data CSV", "data.csv"))


def _elapsed(run: dict) -> str:
    started = run.get("started_at") or run.get("created_at")
    if run.get("duration_s") is not None:
        return f"{run['duration_s']:.1f} s"
    start = datetime.fromisoformat(started.rstrip("Z")).replace(tzinfo=UTC)
    return f"{(datetime.now(UTC) - start).total_seconds():.0f} s so far"


def header(run: dict) -> list:
    model = run["model"]
    tags = [dbc.Badge(tag, color="light", text_color="dark", className="me-1") for tag in run.get("tags") or []]
    return [
        html.H2([run["name"], " ", dbc.Badge(run["status"], color=STATUS_COLORS.get(run["status"], "secondary"),
                                             id="run-status-badge"), *verdict.badge(run), " ", *tags]),
        html.Div(f"run {run['id']} · {model['filename']} · sha256 {model['sha256'][:12]} · from {run['source']}"
                 + (f" ({run['submitted_by']})" if run.get("submitted_by") else ""), className="text-muted small"),
    ]


def timer(run: dict) -> dict:
    """What the browser's elapsed timer needs: when the run started and, once finished, how long it took."""
    return {"started_at": run.get("started_at") or run.get("created_at"), "duration_s": run.get("duration_s"),
            "queued": run["status"] == "queued"}


def progress(run: dict) -> tuple[float, str, list]:
    """Bar value, bar label and the status line for the run's current state."""
    value = round(100 * (run["progress"] or 0.0))
    status = [html.Span(run["stage"], id="run-stage-text"), " · ",
              html.Span(_elapsed(run), id=RUN_ELAPSED_TEXT)]
    if run["error"]:
        status.append(dbc.Alert([html.B(run["error"]["code"] + ": "), run["error"]["message"]], color="danger",
                                className="mt-2", id="run-error-alert"))
    return value, f"{value}%", status


def actions(run: dict) -> list:
    """Cancel while the run is queued or running; the exports once it has finished."""
    if run["status"] not in runs.FINISHED:
        return [dbc.Button("Cancel run", id=RUN_CANCEL_BUTTON, color="outline-danger", size="sm", n_clicks=0)
                ] if can(WRITE) else []
    base = f"/api/runs/{run['id']}/"
    links = [html.A(label, href=base + path, id=f"run-download-{path.split('?')[0].replace('.', '-')}",
                    className="btn btn-outline-secondary btn-sm me-2", target="_blank", rel="noopener")
             for label, path in EXPORTS]
    compare = html.A("Compare…", href=f"/compare?runs={run['id']}", className="btn btn-outline-primary btn-sm")
    return [html.Span("Download: ", className="me-2 small text-muted"), *links, compare]


def body(run: dict) -> list:
    return [render_tabs(run)] if run["status"] == "succeeded" else []


def layout(run_id: str | None = None, **_kwargs) -> html.Div:
    try:
        run = run_dict(runs.get_run(run_id or ""))
    except NotFound:
        return dbc.Alert(f"No run with id {run_id}.", color="warning")
    finished = run["status"] in runs.FINISHED
    value, label, status = progress(run)
    return html.Div([
        dcc.Store(id=RUN_ID_STORE, data=run["id"]),
        dcc.Store(id=RUN_TIMER_STORE, data=timer(run)),
        dcc.Interval(id=RUN_POLL_INTERVAL, interval=1000, disabled=finished),
        dcc.Interval(id=RUN_TIMER_INTERVAL, interval=250, disabled=finished),
        html.Div(header(run), id=RUN_HEADER_DIV),
        dbc.Progress(id=RUN_PROGRESS_BAR, value=value, label=label, striped=not finished, animated=not finished,
                     className="my-2", style={"height": "1.4rem"}),
        html.Div(status, id=RUN_STATUS_DIV),
        html.Div(actions(run), id=RUN_ACTIONS_DIV, className="my-2"),
        html.Div(id=RUN_CANCEL_FEEDBACK, className="small text-muted"),
        html.Div(body(run), id=RUN_RESULT_DIV),
    ])


@callback(
    Output(RUN_HEADER_DIV, "children"),
    Output(RUN_PROGRESS_BAR, "value"),
    Output(RUN_PROGRESS_BAR, "label"),
    Output(RUN_PROGRESS_BAR, "animated"),
    Output(RUN_STATUS_DIV, "children"),
    Output(RUN_RESULT_DIV, "children"),
    Output(RUN_POLL_INTERVAL, "disabled"),
    Output(RUN_ACTIONS_DIV, "children"),
    Output(RUN_TIMER_STORE, "data"),
    Output(RUN_TIMER_INTERVAL, "disabled"),
    Input(RUN_POLL_INTERVAL, "n_intervals"),
    State(RUN_ID_STORE, "data"),
    prevent_initial_call=True,  # the layout already rendered the current state
)
def poll(_n, run_id: str | None):
    if not run_id:
        raise PreventUpdate
    try:
        run = run_dict(runs.get_run(run_id))
    except NotFound:  # deleted meanwhile
        raise PreventUpdate from None
    finished = run["status"] in runs.FINISHED
    value, label, status = progress(run)
    return (header(run), value, label, not finished, status, body(run), finished, actions(run), timer(run),
            finished)


@callback(
    Output(RUN_CANCEL_FEEDBACK, "children"),
    Input(RUN_CANCEL_BUTTON, "n_clicks"),
    State(RUN_ID_STORE, "data"),
    prevent_initial_call=True,
)
def cancel(n_clicks: int | None, run_id: str | None):
    if not n_clicks or not run_id:
        raise PreventUpdate
    run = runs.cancel_run(run_id, "The run was cancelled from the dashboard.")
    audit.record("run.cancel", run_id)
    return f"Cancelled: the run is {run.status}." if run.error and run.error.get("code") == "cancelled" else ""


# The elapsed timer ticks in the browser (4 times a second) between the server polls.
clientside_callback(
    ClientsideFunction(namespace="modelwatch", function_name="elapsed"),
    Output(RUN_ELAPSED_TEXT, "children"),
    Input(RUN_TIMER_INTERVAL, "n_intervals"),
    State(RUN_TIMER_STORE, "data"),
)
