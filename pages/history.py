"""History: every run in a sortable, filterable grid, refreshed every second (API runs appear without a reload);
select runs to delete, tag or compare them."""
from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from modelwatch.auth.permissions import DELETE_RUN, WRITE, authorize
from modelwatch.auth.principal import current_principal
from modelwatch.dashboard.access import can
from modelwatch.errors import Forbidden, ModelwatchError
from modelwatch.services import runs, tags
from modelwatch.services.history import history_rows, rows_signature

dash.register_page(__name__, path="/history", name="History", order=3, title="History · modelwatch")

HISTORY_RUNS_GRID = "history-runs-grid"
HISTORY_REFRESH_INTERVAL = "history-refresh-interval"
HISTORY_FILTER_INPUT = "history-filter-input"
HISTORY_DELETE_BUTTON = "history-delete-button"
HISTORY_DELETE_CONFIRM = "history-delete-confirm"
HISTORY_TAG_INPUT = "history-tag-input"
HISTORY_TAG_BUTTON = "history-tag-button"
HISTORY_COMPARE_BUTTON = "history-compare-button"
HISTORY_FEEDBACK_DIV = "history-feedback-div"
HISTORY_SIGNATURE_STORE = "history-signature-store"
REFRESH_MS = 1000  # a run posted to the API shows up within about a second

NUMBER = {"type": "numericColumn", "filter": "agNumberColumnFilter"}
COLUMNS = [
    # markdown for the link only: history_rows escapes the name, so it is shown as text
    {"field": "name", "cellRenderer": "markdown", "linkTarget": "_self", "flex": 2, "minWidth": 160},
    {"field": "tags", "width": 130},
    {"field": "sha256", "headerName": "sha256", "width": 115},
    {"field": "source", "width": 90},
    {"field": "status", "width": 135},
    {"field": "created_at", "headerName": "created", "sort": "desc", "width": 200},
    {"field": "duration_s", "headerName": "duration (s)", "width": 120, **NUMBER},
    {"field": "p95_1_ms", "headerName": "p95 1 row (ms)", "width": 135, **NUMBER},
    {"field": "throughput", "headerName": "best rows/s", "width": 125, **NUMBER},
    {"field": "quality", "headerName": "quality", "width": 150, "tooltipField": "quality"},
    {"field": "robustness", "headerName": "robust %", "width": 110, **NUMBER},
    {"field": "gates", "width": 95},
]


def _write_controls() -> list:
    """Tag and Delete, for callers who may write (viewers see neither)."""
    if not can(WRITE):
        return [dbc.Col(md=4), dbc.Col(md=4)]
    return [
        dbc.Col(dbc.InputGroup([dbc.Input(id=HISTORY_TAG_INPUT, placeholder="tags, comma-separated"),
                                dbc.Button("Tag selected", id=HISTORY_TAG_BUTTON, color="secondary")]), md=4),
        dbc.Col(dcc.ConfirmDialogProvider(dbc.Button("Delete selected", id=HISTORY_DELETE_BUTTON,
                                                     color="outline-danger", className="me-2"),
                                          id=HISTORY_DELETE_CONFIRM,
                                          message="Delete the selected runs? Running ones are cancelled first."),
                md=2, className="text-end"),
    ]


def layout(**_kwargs) -> html.Div:
    return html.Div([
        html.H2("History"),
        dcc.Interval(id=HISTORY_REFRESH_INTERVAL, interval=REFRESH_MS),
        dcc.Store(id=HISTORY_SIGNATURE_STORE),
        dbc.Row([
            dbc.Col(dbc.Input(id=HISTORY_FILTER_INPUT, placeholder="filter: name, sha256, status, tag…",
                              debounce=False), md=4),
            *_write_controls(),
            dbc.Col(dbc.Button("Compare selected", id=HISTORY_COMPARE_BUTTON, color="outline-primary",
                               href="/compare", disabled=True), md=2, className="text-end"),
        ], className="g-2 mb-2"),
        html.Div(id=HISTORY_FEEDBACK_DIV, className="small text-muted mb-1"),
        dag.AgGrid(id=HISTORY_RUNS_GRID, rowData=history_rows(), columnDefs=COLUMNS, getRowId="params.data.id",
                   defaultColDef={"sortable": True, "filter": True, "resizable": True},
                   dashGridOptions={"animateRows": False, "rowSelection": {"mode": "multiRow"},
                                    "tooltipShowDelay": 300},
                   style={"height": "70vh"}),
    ])


@callback(Output(HISTORY_RUNS_GRID, "rowData"), Output(HISTORY_SIGNATURE_STORE, "data"),
          Input(HISTORY_REFRESH_INTERVAL, "n_intervals"), State(HISTORY_SIGNATURE_STORE, "data"))
def refresh(_n, signature: str | None):
    rows = history_rows()
    digest = rows_signature(rows)
    if digest == signature:
        raise PreventUpdate  # nothing changed: the grid keeps its scroll, selection and sort untouched
    return rows, digest


@callback(Output(HISTORY_RUNS_GRID, "dashGridOptions"), Input(HISTORY_FILTER_INPUT, "value"),
          State(HISTORY_RUNS_GRID, "dashGridOptions"), prevent_initial_call=True)
def quick_filter(text: str | None, options: dict | None):
    return {**(options or {}), "quickFilterText": text or ""}


@callback(Output(HISTORY_COMPARE_BUTTON, "href"), Output(HISTORY_COMPARE_BUTTON, "disabled"),
          Input(HISTORY_RUNS_GRID, "selectedRows"))
def compare_link(selected: list[dict] | None):
    # oldest first: the baseline of "v1 against v2" is the earlier run
    ids = [row["id"] for row in sorted(selected or [], key=lambda r: r.get("created_at") or "")]
    return f"/compare?runs={','.join(ids)}", len(ids) < 2


@callback(Output(HISTORY_FEEDBACK_DIV, "children", allow_duplicate=True),
          Output(HISTORY_RUNS_GRID, "rowData", allow_duplicate=True),
          Input(HISTORY_DELETE_CONFIRM, "submit_n_clicks"), State(HISTORY_RUNS_GRID, "selectedRows"),
          prevent_initial_call=True)
def delete_selected(_clicks, selected: list[dict] | None):
    if not selected:
        return "Select runs first (the boxes on the left).", no_update
    deleted = refused = 0
    for row in selected:
        try:
            authorize(current_principal(), DELETE_RUN, runs.get_run(row["id"]))
            runs.delete_run(row["id"])
            deleted += 1
        except Forbidden:  # an editor selected someone else's run
            refused += 1
        except ModelwatchError:  # deleted by someone else meanwhile
            continue
    note = f" {refused} not yours: only their owner or an admin may delete them." if refused else ""
    return f"Deleted {deleted} run(s).{note}", history_rows()


@callback(Output(HISTORY_FEEDBACK_DIV, "children", allow_duplicate=True),
          Output(HISTORY_RUNS_GRID, "rowData", allow_duplicate=True),
          Input(HISTORY_TAG_BUTTON, "n_clicks"), State(HISTORY_TAG_INPUT, "value"),
          State(HISTORY_RUNS_GRID, "selectedRows"), prevent_initial_call=True)
def tag_selected(n_clicks, text: str | None, selected: list[dict] | None):
    if not n_clicks:
        raise PreventUpdate
    if not selected:
        return "Select runs first (the boxes on the left).", no_update
    try:
        new = tags.parse_tags(text)
        for row in selected:
            existing = runs.get_run(row["id"]).tags or []
            tags.set_tags(row["id"], existing + new if new else [])
    except ModelwatchError as exc:
        return exc.message, no_update
    return (f"Tagged {len(selected)} run(s): {', '.join(new)}." if new else f"Cleared the tags of {len(selected)} "
            "run(s)."), history_rows()
