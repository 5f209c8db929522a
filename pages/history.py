"""History: every run in a runs table like MLflow's (name and verdict pinned left, one numeric column per metric,
a column chooser, grouping by model), refreshed every second so API runs appear without a reload; select runs to
delete, tag or compare them. The search text, the grouping and the column filters live in the URL's query string
(a reload or a shared link keeps them); the chosen columns are remembered by the browser."""
from __future__ import annotations

import json
from typing import Any

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from modelwatch.auth.permissions import DELETE_RUN, WRITE, authorize
from modelwatch.auth.principal import current_principal
from modelwatch.dashboard.access import can
from modelwatch.errors import Forbidden, ModelwatchError
from modelwatch.figures.format import GRAPH_CONFIG, grid_number, grid_percent
from modelwatch.figures.history import metric_over_runs
from modelwatch.services import runs, tags
from modelwatch.services.history import group_by_model, history_rows, rows_signature

dash.register_page(__name__, path="/history", name="History", order=3, title="History · modelwatch")

HISTORY_RUNS_GRID = "history-runs-grid"
HISTORY_REFRESH_INTERVAL = "history-refresh-interval"
HISTORY_FILTER_INPUT = "history-filter-input"
HISTORY_GROUP_SWITCH = "history-group-switch"
HISTORY_COLUMNS_CHECKLIST = "history-columns-checklist"
HISTORY_COLUMNS_BUTTON = "history-columns-button"
HISTORY_COLUMNS_STORE = "history-columns-store"
HISTORY_URL_STORE = "history-url-store"
HISTORY_DELETE_BUTTON = "history-delete-button"
HISTORY_DELETE_CONFIRM = "history-delete-confirm"
HISTORY_TAG_INPUT = "history-tag-input"
HISTORY_TAG_BUTTON = "history-tag-button"
HISTORY_COMPARE_BUTTON = "history-compare-button"
HISTORY_FEEDBACK_DIV = "history-feedback-div"
HISTORY_SIGNATURE_STORE = "history-signature-store"
HISTORY_CHART_SELECT = "history-chart-select"
HISTORY_CHART_GRAPH = "history-chart-graph"
REFRESH_MS = 1000  # a run posted to the API shows up within about a second
GROUPED = "model"  # ?group=model


def _metric(field: str, header: str, formatter: dict[str, str], tip: str, width: int = 128) -> dict[str, Any]:
    return {"field": field, "headerName": header, "headerTooltip": tip, "width": width, "type": "numericColumn",
            "filter": "agNumberColumnFilter", "valueFormatter": formatter}


# (column, shown until the user chooses otherwise); name and verdict are always shown, pinned left
OPTIONAL_COLUMNS: list[tuple[dict[str, Any], bool]] = [
    ({"field": "status", "headerName": "Status", "width": 125}, True),
    ({"field": "created_at", "headerName": "Created", "width": 120,
      "valueFormatter": {"function": "params.data.created"}, "tooltipField": "created_title",
      "filter": "agDateColumnFilter", "filterParams": {"comparator": {"function": "isoDayComparator"}}}, True),
    ({"field": "duration_s", "headerName": "Duration", "width": 110, "type": "numericColumn",
      "filter": "agNumberColumnFilter", "valueFormatter": {"function": "params.data.duration"}}, True),
    (_metric("p95_1_ms", "p95, 1 row", grid_number("ms"), "95th percentile latency of a one-row call"), True),
    (_metric("throughput", "Rows/s (best)", grid_number(), "best throughput over the batch sizes"), True),
    (_metric("error_rate", "Error rate", grid_percent(), "share of valid generated rows the model failed on"),
     False),
    (_metric("robustness", "Robustness", grid_percent(),
             "share of robustness cases handled (ok or rightly rejected)", 140), True),
    (_metric("accuracy", "Accuracy", grid_number(), "accuracy on the labelled sample"), True),
    (_metric("balanced_accuracy", "Balanced acc.", grid_number(), "balanced accuracy on the labelled sample"),
     False),
    (_metric("roc_auc", "ROC AUC", grid_number(), "area under the ROC curve"), True),
    (_metric("f1_macro", "F1 (macro)", grid_number(), "macro-averaged F1"), False),
    (_metric("r2", "R²", grid_number(), "coefficient of determination (regression)"), True),
    (_metric("rmse", "RMSE", grid_number(), "root mean squared error (regression)"), False),
    (_metric("mae", "MAE", grid_number(), "mean absolute error (regression)"), False),
    (_metric("drift_shift", "Drift impact", grid_number(), "largest prediction shift a drift scenario caused"),
     False),
    ({"field": "tags", "headerName": "Tags", "width": 130}, True),
    ({"field": "n_samples", "headerName": "Rows generated", "width": 120, "type": "numericColumn",
      "filter": "agNumberColumnFilter", "valueFormatter": grid_number(digits=6), "headerTooltip": "setting"}, False),
    ({"field": "target", "headerName": "Label column", "width": 120, "headerTooltip": "setting"}, False),
    ({"field": "sha256", "headerName": "sha256", "width": 115}, False),
    ({"field": "source", "headerName": "Source", "width": 90}, False),
]
CHART_OPTIONS = [{"label": c["headerName"], "value": c["field"]} for c, _ in OPTIONAL_COLUMNS
                 if c.get("filter") == "agNumberColumnFilter"]
CHOOSER_OPTIONS = [{"label": c["headerName"], "value": c["field"]} for c, _ in OPTIONAL_COLUMNS]
DEFAULT_SHOWN = [c["field"] for c, shown in OPTIONAL_COLUMNS if shown]
VERDICT_CLASSES = {f"verdict-{v}": f"params.value == '{v}'" for v in ("pass", "warn", "fail", "incomplete", "error")}


def column_defs(grouped: bool) -> list[dict[str, Any]]:
    """The grid's columns: the group's model name (when grouped), name and verdict pinned left, then the optional
    ones (the default choice; the browser applies the user's). Sorted newest first, or by group when grouped (the
    rows arrive in group order)."""
    model = {"field": "model", "headerName": "Model (runs)", "pinned": "left", "width": 230, "hide": not grouped,
             "valueFormatter": {"function": "params.data.group_first ? params.value + ' (' + params.data.group_size "
                                            "+ ')' : ''"}}
    rank = {"field": "group_rank", "hide": True, **({"initialSort": "asc"} if grouped else {})}
    # markdown for the link only: history_rows escapes the name, so it is shown as text
    name = {"field": "name", "headerName": "Run", "cellRenderer": "markdown", "pinned": "left", "width": 230,
            "tooltipField": "model"}
    verdict = {"field": "verdict", "headerName": "Verdict", "pinned": "left", "width": 100,
               "cellClassRules": VERDICT_CLASSES,
               "headerTooltip": "fit to ship? pass · warn · fail · incomplete (error: the run failed)"}
    optional = [{**column, "hide": column["field"] not in DEFAULT_SHOWN,
                 **({"initialSort": "desc"} if column["field"] == "created_at" and not grouped else {})}
                for column, _ in OPTIONAL_COLUMNS]
    return [model, rank, name, verdict, *optional]


def ordered_rows(grouped: bool) -> list[dict[str, Any]]:
    """History's rows, each model's runs together when grouped (``group_rank`` keeps that order in the grid)."""
    rows = history_rows()
    if not grouped:
        return rows
    return [{**row, "group_rank": i} for i, row in enumerate(group_by_model(rows))]


def parse_filter_model(text: str | None) -> dict[str, Any]:
    """The grid's column filters from the URL's ``filter`` parameter (JSON); anything else is no filter."""
    try:
        found = json.loads(text or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _write_controls() -> list:
    """Tag and Delete, for callers who may write (viewers see neither)."""
    if not can(WRITE):
        return []
    return [
        dbc.Col(dbc.InputGroup([dbc.Input(id=HISTORY_TAG_INPUT, placeholder="tags, comma-separated"),
                                dbc.Button("Tag selected", id=HISTORY_TAG_BUTTON, color="secondary")], size="sm"),
                xs=12, md=4, lg=3),
        dbc.Col(dcc.ConfirmDialogProvider(dbc.Button("Delete selected", id=HISTORY_DELETE_BUTTON,
                                                     color="outline-danger", size="sm"),
                                          id=HISTORY_DELETE_CONFIRM,
                                          message="Delete the selected runs? Running ones are cancelled first."),
                xs="auto"),
    ]


def _column_chooser() -> html.Div:
    """A "Columns" button opening a checklist of the optional columns (stays open while ticking)."""
    checklist = dbc.Checklist(id=HISTORY_COLUMNS_CHECKLIST, options=CHOOSER_OPTIONS, value=DEFAULT_SHOWN,
                              persistence=True, persistence_type="local")
    return html.Div([
        dbc.Button("Columns ▾", id=HISTORY_COLUMNS_BUTTON, color="outline-secondary", size="sm"),
        dbc.Popover(dbc.PopoverBody(checklist), target=HISTORY_COLUMNS_BUTTON, trigger="legacy",
                    placement="bottom-start"),
    ])


def layout(q: str | None = None, group: str | None = None, filter: str | None = None,  # noqa: A002 (URL name)
           **_kwargs) -> html.Div:
    grouped = group == GROUPED
    return html.Div([
        html.H2("History"),
        dcc.Interval(id=HISTORY_REFRESH_INTERVAL, interval=REFRESH_MS),
        dcc.Store(id=HISTORY_SIGNATURE_STORE),
        dcc.Store(id=HISTORY_COLUMNS_STORE, data=column_defs(grouped)),
        dcc.Store(id=HISTORY_URL_STORE),
        dbc.Row([
            dbc.Col(dbc.Input(id=HISTORY_FILTER_INPUT, value=q or "", size="sm", debounce=False,
                              placeholder="search: name, sha256, status, tag…"), xs=12, md=4, lg=3),
            dbc.Col(dbc.Switch(id=HISTORY_GROUP_SWITCH, label="group by model", value=grouped,
                               className="mt-1 mb-0"), xs="auto"),
            dbc.Col(_column_chooser(), xs="auto"),
            *_write_controls(),
            dbc.Col(dbc.Button("Compare selected", id=HISTORY_COMPARE_BUTTON, color="outline-primary", size="sm",
                               href="/compare", disabled=True), xs="auto"),
        ], className="g-2 mb-2 align-items-center"),
        html.Div(id=HISTORY_FEEDBACK_DIV, className="small text-muted mb-1"),
        dag.AgGrid(id=HISTORY_RUNS_GRID, rowData=ordered_rows(grouped), columnDefs=column_defs(grouped),
                   getRowId="params.data.id", filterModel=parse_filter_model(filter),
                   defaultColDef={"sortable": True, "filter": True, "resizable": True, "wrapHeaderText": True,
                                  "autoHeaderHeight": True},
                   dashGridOptions={"animateRows": False, "rowSelection": {"mode": "multiRow"},
                                    "tooltipShowDelay": 300, "quickFilterText": q or "",
                                    "rowClassRules": {"history-group-start": "params.data.group_first"}},
                   className="history-grid", style={"height": "60vh"}),
        html.Details([
            html.Summary("Chart a metric across the listed runs", className="h5 mt-3"),
            dbc.Select(id=HISTORY_CHART_SELECT, options=CHART_OPTIONS, value="p95_1_ms", size="sm",
                       className="my-2", style={"maxWidth": "260px"}),
            dcc.Graph(id=HISTORY_CHART_GRAPH, config=GRAPH_CONFIG),
        ], id="history-chart-details"),
    ])


# the chosen columns and the grouping shape the column definitions in the browser (assets/history.js)
clientside_callback(ClientsideFunction("modelwatch", "historyColumns"),
                    Output(HISTORY_RUNS_GRID, "columnDefs"),
                    Input(HISTORY_COLUMNS_CHECKLIST, "value"), Input(HISTORY_GROUP_SWITCH, "value"),
                    State(HISTORY_COLUMNS_STORE, "data"))  # initially too: the browser may remember other columns
# the search text, the grouping and the column filters go to the query string, without a page load
clientside_callback(ClientsideFunction("modelwatch", "historyUrl"),
                    Output(HISTORY_URL_STORE, "data"),
                    Input(HISTORY_FILTER_INPUT, "value"), Input(HISTORY_GROUP_SWITCH, "value"),
                    Input(HISTORY_RUNS_GRID, "filterModel"), prevent_initial_call=True)


@callback(Output(HISTORY_RUNS_GRID, "rowData"), Output(HISTORY_SIGNATURE_STORE, "data"),
          Input(HISTORY_REFRESH_INTERVAL, "n_intervals"), Input(HISTORY_GROUP_SWITCH, "value"),
          State(HISTORY_SIGNATURE_STORE, "data"))
def refresh(_n, grouped: bool | None, signature: str | None):
    rows = ordered_rows(bool(grouped))
    digest = rows_signature(rows)
    if digest == signature:
        raise PreventUpdate  # nothing changed: the grid keeps its scroll, selection and sort untouched
    return rows, digest


@callback(Output(HISTORY_CHART_GRAPH, "figure"), Input(HISTORY_CHART_SELECT, "value"),
          Input(HISTORY_RUNS_GRID, "virtualRowData"))
def chart(field: str | None, rows: list[dict] | None):
    """The chosen metric over the runs the grid lists (its search and filters apply)."""
    label = next((o["label"] for o in CHART_OPTIONS if o["value"] == field), None)
    if label is None:
        raise PreventUpdate
    return metric_over_runs(rows or [], field, label)


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
          State(HISTORY_GROUP_SWITCH, "value"), prevent_initial_call=True)
def delete_selected(_clicks, selected: list[dict] | None, grouped: bool | None):
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
    return f"Deleted {deleted} run(s).{note}", ordered_rows(bool(grouped))


@callback(Output(HISTORY_FEEDBACK_DIV, "children", allow_duplicate=True),
          Output(HISTORY_RUNS_GRID, "rowData", allow_duplicate=True),
          Input(HISTORY_TAG_BUTTON, "n_clicks"), State(HISTORY_TAG_INPUT, "value"),
          State(HISTORY_RUNS_GRID, "selectedRows"), State(HISTORY_GROUP_SWITCH, "value"), prevent_initial_call=True)
def tag_selected(n_clicks, text: str | None, selected: list[dict] | None, grouped: bool | None):
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
            "run(s)."), ordered_rows(bool(grouped))
