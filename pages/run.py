"""A run: its progress while it goes (stage, bar, elapsed timer, cancel, each section's figures as it lands), then
its verdict, headline figures and tabs, each tab loaded when first opened.

The page stays light so that it cannot hang: each poll reads only status, stage, progress and the sections'
headlines (a few hundred bytes, ``run_views.progress``); when the run ends the poll stops and the finished state is
loaded once, in a callback of its own; the Result never travels whole, one section per opened tab.
"""
from __future__ import annotations

from datetime import UTC, datetime

import dash
import dash_bootstrap_components as dbc
from dash import (
    ALL,
    ClientsideFunction,
    Input,
    Output,
    State,
    callback,
    clientside_callback,
    dcc,
    html,
    no_update,
)
from dash.exceptions import PreventUpdate

from modelwatch.auth.permissions import WRITE
from modelwatch.dashboard import headlines, verdict
from modelwatch.dashboard.access import can
from modelwatch.dashboard.sections.summary import render as render_summary
from modelwatch.dashboard.tabs import RUN_RESULT_TABS, RUN_TAB_BODY, lazy_tabs, render_section, section_of_tab
from modelwatch.errors import Cancelled, NotFound
from modelwatch.run_status import FINISHED, RunStatus
from modelwatch.services import audit, run_views, runs
from modelwatch.services.presenters import run_dict, run_verdict

dash.register_page(__name__, path_template="/runs/<run_id>", name="Run", title="Run · modelwatch")

RUN_ID_STORE = "run-id-store"
RUN_POLL_INTERVAL = "run-poll-interval"
RUN_HEADER_DIV = "run-header-div"
RUN_PROGRESS_BAR = "run-progress-bar"
RUN_STATUS_DIV = "run-status-div"
RUN_HEADLINES_DIV = "run-headlines-div"
RUN_STATUS_BADGE = "run-status-badge"
RUN_RESULT_DIV = "run-result-div"
RUN_ACTIONS_DIV = "run-actions-div"
RUN_CANCEL_BUTTON = "run-cancel-button"
RUN_CANCEL_FEEDBACK = "run-cancel-feedback"
RUN_TIMER_STORE = "run-timer-store"
RUN_TIMER_INTERVAL = "run-timer-interval"
RUN_ELAPSED_TEXT = "run-elapsed-text"
RUN_FINISHED_STORE = "run-finished-store"  # the final status, set once by the poll: loads the finished state
RUN_OPENED_STORE = "run-opened-store"  # tabs already rendered (their content stays in the page)

POLL_MS = 500  # a tick is a few hundred bytes: polling often costs little and shows the end sooner
STATUS_COLORS = {RunStatus.QUEUED: "secondary", RunStatus.RUNNING: "info", RunStatus.SUCCEEDED: "success",
                 RunStatus.FAILED: "danger"}
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
                                             id=RUN_STATUS_BADGE), *verdict.fit_badge(run.get("verdict")),
                 *verdict.badge(run), " ", *tags]),
        html.Div(f"run {run['id']} · {model['filename']} · sha256 {model['sha256'][:12]} · from {run['source']}"
                 + (f" ({run['submitted_by']})" if run.get("submitted_by") else ""), className="text-muted small"),
    ]


def timer(run: dict) -> dict:
    """What the browser's elapsed timer needs: when the run started and, once finished, how long it took."""
    return {"started_at": run.get("started_at") or run.get("created_at"), "duration_s": run.get("duration_s"),
            "queued": run["status"] == RunStatus.QUEUED}


def progress(run: dict) -> tuple[float, str, list]:
    """Bar value, bar label and the status line for the run's current state (``run_views.progress`` suffices)."""
    value = round(100 * (run["progress"] or 0.0))
    status = [html.Span(run["stage"], id="run-stage-text"), " · ",
              html.Span(_elapsed(run), id=RUN_ELAPSED_TEXT)]
    if run["error"]:
        status.append(dbc.Alert([html.B(run["error"]["code"] + ": "), run["error"]["message"]], color="danger",
                                className="mt-2", id="run-error-alert"))
    return value, f"{value}%", status


def filling_in(run: dict) -> list:
    """The sections' headline cards while the run goes (and after it failed); nothing while it waits for a worker or
    once it has succeeded."""
    if run["status"] in (RunStatus.QUEUED, RunStatus.SUCCEEDED):
        return []
    return headlines.cards(run.get("headlines"), failed=run["status"] == RunStatus.FAILED)


def actions(run: dict) -> list:
    """Cancel while the run is queued or running; the exports once it has finished."""
    if run["status"] not in FINISHED:
        return [dbc.Button("Cancel run", id=RUN_CANCEL_BUTTON, color="outline-danger", size="sm", n_clicks=0)
                ] if can(WRITE) else []
    base = f"/api/runs/{run['id']}/"
    links = [html.A(label, href=base + path, id=f"run-download-{path.split('?')[0].replace('.', '-')}",
                    className="btn btn-outline-secondary btn-sm me-2", target="_blank", rel="noopener")
             for label, path in EXPORTS]
    compare = html.A("Compare…", href=f"/compare?runs={run['id']}", className="btn btn-outline-primary btn-sm")
    return [html.Span("Download: ", className="me-2 small text-muted"), *links, compare]


def finished_state(run_id: str) -> tuple[dict, list]:
    """The run without its Result, and the body of a finished run: the verdict and headline figures in the Summary
    tab, every other tab empty until opened. The Result is read here, on the server, and never sent whole."""
    found = runs.get_run(run_id)
    run = {**run_dict(found, with_result=False), "verdict": run_verdict(found)}
    if run["status"] != RunStatus.SUCCEEDED:
        return run, []
    run["settings"] = run_views.settings(found)
    return run, [lazy_tabs(render_summary(found.result or {}, run))]


def layout(run_id: str | None = None, **_kwargs) -> html.Div:
    try:
        state = run_views.progress(run_id or "")
        finished = state["status"] in FINISHED
        run, body = finished_state(state["id"]) if finished else (run_dict(runs.get_run(state["id"]), False), [])
    except NotFound:
        return dbc.Alert(f"No run with id {run_id}.", color="warning")
    value, label, status = progress(run)
    return html.Div([
        dcc.Store(id=RUN_ID_STORE, data=run["id"]),
        dcc.Store(id=RUN_TIMER_STORE, data=timer(run)),
        dcc.Store(id=RUN_FINISHED_STORE),
        dcc.Store(id=RUN_OPENED_STORE, data=[]),
        dcc.Interval(id=RUN_POLL_INTERVAL, interval=POLL_MS, disabled=finished),
        dcc.Interval(id=RUN_TIMER_INTERVAL, interval=250, disabled=finished),
        html.Div(header(run), id=RUN_HEADER_DIV),
        dbc.Progress(id=RUN_PROGRESS_BAR, value=value, label=label, striped=not finished, animated=not finished,
                     className="my-2", style={"height": "1.4rem"}),
        html.Div(status, id=RUN_STATUS_DIV),
        html.Div(filling_in(run), id=RUN_HEADLINES_DIV),
        html.Div(actions(run), id=RUN_ACTIONS_DIV, className="my-2"),
        html.Div(id=RUN_CANCEL_FEEDBACK, className="small text-muted"),
        html.Div(body, id=RUN_RESULT_DIV),
    ])


@callback(
    Output(RUN_PROGRESS_BAR, "value"),
    Output(RUN_PROGRESS_BAR, "label"),
    Output(RUN_PROGRESS_BAR, "animated"),
    Output(RUN_PROGRESS_BAR, "striped"),
    Output(RUN_STATUS_DIV, "children"),
    Output(RUN_HEADLINES_DIV, "children"),
    Output(RUN_STATUS_BADGE, "children"),
    Output(RUN_STATUS_BADGE, "color"),
    Output(RUN_TIMER_STORE, "data"),
    Output(RUN_POLL_INTERVAL, "disabled"),
    Output(RUN_FINISHED_STORE, "data"),
    Input(RUN_POLL_INTERVAL, "n_intervals"),
    State(RUN_ID_STORE, "data"),
    prevent_initial_call=True,  # the layout already rendered the current state
)
def poll(_n, run_id: str | None):
    """One tick: status, stage, progress and the sections' headlines only; the tick that sees the run finished stops
    the polling."""
    if not run_id:
        raise PreventUpdate
    try:
        run = run_views.progress(run_id)
    except NotFound:  # deleted meanwhile
        raise PreventUpdate from None
    finished = run["status"] in FINISHED
    value, label, status = progress(run)
    color = STATUS_COLORS.get(run["status"], "secondary")
    return (value, label, not finished, not finished, status, filling_in(run), run["status"], color, timer(run),
            finished, run["status"] if finished else no_update)


@callback(
    Output(RUN_HEADER_DIV, "children"),
    Output(RUN_ACTIONS_DIV, "children"),
    Output(RUN_RESULT_DIV, "children"),
    Output(RUN_TIMER_INTERVAL, "disabled"),
    Input(RUN_FINISHED_STORE, "data"),
    State(RUN_ID_STORE, "data"),
    prevent_initial_call=True,
)
def show_finished(final_status: str | None, run_id: str | None):
    """Load the finished state once, when the poll has seen the run end."""
    if not final_status or not run_id:
        raise PreventUpdate
    try:
        run, body = finished_state(run_id)
    except NotFound:
        raise PreventUpdate from None
    return header(run), actions(run), body, True


@callback(
    Output({"type": RUN_TAB_BODY, "index": ALL}, "children"),
    Output(RUN_OPENED_STORE, "data"),
    Input(RUN_RESULT_TABS, "active_tab"),
    State({"type": RUN_TAB_BODY, "index": ALL}, "id"),
    State(RUN_OPENED_STORE, "data"),
    State(RUN_ID_STORE, "data"),
    prevent_initial_call=True,
)
def open_tab(active_tab: str | None, body_ids: list[dict], opened: list[str] | None, run_id: str | None):
    """Render a tab the first time it is opened, from its own section of the Result."""
    found = section_of_tab(active_tab)
    opened = list(opened or [])
    if found is None or not run_id or found[0] in opened:
        raise PreventUpdate
    module_name, key = found
    section = run_views.result_section(run_id, key)
    children = render_section(module_name, section, {"id": run_id})
    return ([children if body["index"] == module_name else no_update for body in body_ids],
            [*opened, module_name])


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
    return f"Cancelled: the run is {run.status}." if run.error and run.error.get("code") == Cancelled.code else ""


# The elapsed timer ticks in the browser (4 times a second) between the server polls.
clientside_callback(
    ClientsideFunction(namespace="modelwatch", function_name="elapsed"),
    Output(RUN_ELAPSED_TEXT, "children"),
    Input(RUN_TIMER_INTERVAL, "n_intervals"),
    State(RUN_TIMER_STORE, "data"),
)
