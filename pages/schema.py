"""Schema: edit the features the data is generated from, pre-filled from the model or a sample CSV, and preview it."""
from __future__ import annotations

import json

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from modelwatch.core.schema.document import KINDS, TYPES
from modelwatch.dashboard import ids
from modelwatch.dashboard.schema_editor import KIND_HELP, messages, new_row, rows_to_schema, schema_to_rows
from modelwatch.dashboard.uploads import decode_upload
from modelwatch.errors import ModelwatchError
from modelwatch.figures.format import GRAPH_CONFIG
from modelwatch.figures.schema import feature_histogram
from modelwatch.services import artifacts, schemas

dash.register_page(__name__, path="/schema", name="Schema", order=2, title="Schema · modelwatch")

SCHEMA_FEATURES_GRID = "schema-features-grid"
SCHEMA_FROM_MODEL_BUTTON = "schema-from-model-button"
SCHEMA_CSV_UPLOAD = "schema-csv-upload"
SCHEMA_JSON_UPLOAD = "schema-json-upload"
SCHEMA_EXPORT_BUTTON = "schema-export-button"
SCHEMA_EXPORT_DOWNLOAD = "schema-export-download"
SCHEMA_DATA_BUTTON = "schema-data-button"
SCHEMA_DATA_DOWNLOAD = "schema-data-download"
SCHEMA_ADD_BUTTON = "schema-add-button"
SCHEMA_REMOVE_BUTTON = "schema-remove-button"
SCHEMA_SOURCE_DIV = "schema-source-div"
SCHEMA_WARNINGS_DIV = "schema-warnings-div"
SCHEMA_VALIDATION_DIV = "schema-validation-div"
SCHEMA_BASE_STORE = "schema-base-store"  # target, copula and flags: what the grid does not show
SCHEMA_DOC_STORE = "schema-doc-store"  # the document the grid describes, once it validates
SCHEMA_ROWS_INPUT = "schema-rows-input"
SCHEMA_SEED_INPUT = "schema-seed-input"
SCHEMA_GENERATOR_SELECT = "schema-generator-select"
SCHEMA_PREVIEW_GRID = "schema-preview-grid"
SCHEMA_HISTOGRAMS_DIV = "schema-histograms-div"
SCHEMA_PREVIEW_ERROR = "schema-preview-error"
SCHEMA_EDGE_CASES_GRID = "schema-edge-cases-grid"
SCHEMA_RUN_BUTTON = "schema-run-button"

DROP_STYLE = {"borderWidth": "2px", "borderStyle": "dashed", "borderRadius": "8px", "padding": "0.75rem",
              "textAlign": "center", "cursor": "pointer"}
COLUMN_DEFS = [
    {"field": "name", "pinned": "left", "minWidth": 160},
    {"field": "type", "cellEditor": "agSelectCellEditor", "cellEditorParams": {"values": list(TYPES)}},
    {"field": "min", "cellEditor": "agNumberCellEditor", "type": "rightAligned"},
    {"field": "max", "cellEditor": "agNumberCellEditor", "type": "rightAligned"},
    {"field": "categories", "headerTooltip": "comma-separated", "minWidth": 180},
    {"field": "weights", "headerTooltip": "comma-separated, one per category"},
    {"field": "kind", "headerName": "distribution", "cellEditor": "agSelectCellEditor",
     "cellEditorParams": {"values": ["", *KINDS]}},
    {"field": "params", "headerTooltip": KIND_HELP, "minWidth": 200},
    {"field": "nullable", "cellDataType": "boolean", "maxWidth": 110},
    {"field": "missing_rate", "headerName": "missing rate", "cellEditor": "agNumberCellEditor", "maxWidth": 130},
    {"field": "flags", "editable": False},
    {"field": "source", "editable": False, "maxWidth": 110, "headerTooltip": "sample, model, assumed or user"},
]


def layout(**_kwargs) -> html.Div:
    return html.Div([
        html.H2("Schema"),
        html.P("The features modelwatch generates test data from. Start from the model, a sample CSV or a schema "
               "file, then edit the grid; errors show as you type.", className="text-muted"),
        dbc.Row([
            dbc.Col(dbc.Button("Fill from the current model", id=SCHEMA_FROM_MODEL_BUTTON, color="secondary"), md=3),
            dbc.Col(dcc.Upload(html.Div(["Drop a sample CSV (or ", html.A("choose one"), ")"]), id=SCHEMA_CSV_UPLOAD,
                               style=DROP_STYLE, multiple=False), md=4),
            dbc.Col(dcc.Upload(html.Div(["Import a schema JSON"]), id=SCHEMA_JSON_UPLOAD, style=DROP_STYLE,
                               accept=".json,application/json", multiple=False), md=3),
            dbc.Col([dbc.Button("Export JSON", id=SCHEMA_EXPORT_BUTTON, color="primary"),
                     dcc.Download(id=SCHEMA_EXPORT_DOWNLOAD)], md=2),
        ], className="g-2 align-items-center mb-2"),
        html.Div(id=SCHEMA_SOURCE_DIV, className="small text-muted mb-2"),
        html.Div(id=SCHEMA_WARNINGS_DIV),
        dag.AgGrid(
            id=SCHEMA_FEATURES_GRID, columnDefs=COLUMN_DEFS, rowData=[],
            defaultColDef={"editable": True, "resizable": True, "minWidth": 100, "flex": 1},
            dashGridOptions={"rowSelection": {"mode": "multiRow", "enableClickSelection": False},
                             "singleClickEdit": True, "stopEditingWhenCellsLoseFocus": True,
                             "domLayout": "autoHeight", "tooltipShowDelay": 200},
            style={"width": "100%"}, className="ag-theme-alpine",
        ),
        dbc.ButtonGroup([dbc.Button("Add feature", id=SCHEMA_ADD_BUTTON, color="light"),
                         dbc.Button("Remove selected", id=SCHEMA_REMOVE_BUTTON, color="light")], className="my-2"),
        html.Div(id=SCHEMA_VALIDATION_DIV, className="my-2"),
        dbc.Button("Start a run with this schema", id=SCHEMA_RUN_BUTTON, color="primary", disabled=True,
                   className="mb-2"),
        dcc.Store(id=SCHEMA_BASE_STORE),
        dcc.Store(id=SCHEMA_DOC_STORE),
        html.H4("Preview", className="mt-4"),
        dbc.Row([
            dbc.Col([dbc.Label("Rows"), dbc.Input(id=SCHEMA_ROWS_INPUT, type="number", min=10,
                                                  max=schemas.MAX_PREVIEW_ROWS, step=1, value=500)], md=2),
            dbc.Col([dbc.Label("Seed"), dbc.Input(id=SCHEMA_SEED_INPUT, type="number", min=0, step=1, value=0)], md=2),
            dbc.Col([dbc.Label("Generator"), dbc.Select(id=SCHEMA_GENERATOR_SELECT, value="independent", options=[
                {"label": "independent", "value": "independent"},
                {"label": "copula (correlations of the sample)", "value": "copula"}])], md=3),
            dbc.Col([dbc.Button("Download CSV", id=SCHEMA_DATA_BUTTON, color="secondary", className="mt-4"),
                     dcc.Download(id=SCHEMA_DATA_DOWNLOAD)], md=2),
        ], className="g-2 mb-2"),
        html.Div(id=SCHEMA_PREVIEW_ERROR),
        dag.AgGrid(id=SCHEMA_PREVIEW_GRID, rowData=[], columnDefs=[], className="ag-theme-alpine",
                   defaultColDef={"resizable": True, "minWidth": 90, "flex": 1}, style={"height": "320px"}),
        dbc.Row(id=SCHEMA_HISTOGRAMS_DIV, className="g-2 mt-2"),
        html.Details([
            html.Summary("Edge cases the robustness checks will send", className="h5 mt-4"),
            dag.AgGrid(id=SCHEMA_EDGE_CASES_GRID, rowData=[], className="ag-theme-alpine",
                       columnDefs=[{"field": f} for f in ("feature", "kind", "description", "value", "valid")],
                       defaultColDef={"resizable": True, "flex": 1}, style={"height": "300px"}),
        ]),
    ])


def _artifact(store: dict | None):
    """The model the shell remembers, if it still exists."""
    artifact_id = (store or {}).get("artifact_id")
    try:
        return artifacts.get_artifact(artifact_id) if artifact_id else None
    except ModelwatchError:
        return None


def _warnings(warnings: list[dict]) -> list:
    if not warnings:
        return []
    return [dbc.Alert([html.Strong(f"{len(warnings)} note(s) on the inferred schema"),
                       html.Ul([html.Li(w["message"]) for w in warnings], className="mb-0")],
                      color="warning", id="schema-warnings-alert")]


@callback(
    Output(SCHEMA_FEATURES_GRID, "rowData"),
    Output(SCHEMA_BASE_STORE, "data"),
    Output(SCHEMA_WARNINGS_DIV, "children"),
    Output(SCHEMA_SOURCE_DIV, "children"),
    Input(SCHEMA_FROM_MODEL_BUTTON, "n_clicks"),
    Input(SCHEMA_CSV_UPLOAD, "contents"),
    Input(SCHEMA_JSON_UPLOAD, "contents"),
    Input(ids.SHELL_ARTIFACT_STORE, "data"),
    State(SCHEMA_CSV_UPLOAD, "filename"),
    State(SCHEMA_JSON_UPLOAD, "filename"),
    State(SCHEMA_FEATURES_GRID, "rowData"),
)
def load_schema(_clicks, csv_contents, json_contents, store, csv_name, json_name, rows):
    """Fill the grid from the model (on arrival or on request), a dropped CSV, or an imported schema file."""
    trigger = ctx.triggered_id
    artifact = _artifact(store)
    try:
        if trigger == SCHEMA_CSV_UPLOAD and csv_contents:
            found = schemas.infer_schema(decode_upload(csv_contents), artifact)
            source = f"From the sample {csv_name}" + (f" merged with the model {artifact.name}" if artifact else "")
        elif trigger == SCHEMA_JSON_UPLOAD and json_contents:
            found = {"schema": schemas.load_schema_file(decode_upload(json_contents)), "warnings": []}
            source = f"Imported from {json_name}"
        elif artifact is not None and (trigger == SCHEMA_FROM_MODEL_BUTTON or not rows):
            found = schemas.infer_schema(None, artifact)
            source = f"From the model {artifact.name}"
        elif trigger == SCHEMA_FROM_MODEL_BUTTON:
            return no_update, no_update, [dbc.Alert("Upload a model first (Upload page), or drop a sample CSV.",
                                                    color="info")], no_update
        else:
            raise PreventUpdate
    except ModelwatchError as exc:
        return no_update, no_update, [dbc.Alert(exc.message, color="danger", id="schema-load-error")], no_update
    target = found["schema"].get("target")
    if target:
        classes = target.get("classes")
        source += f" · target: {target['name']}"
        source += f" (classes {', '.join(map(str, classes[:10]))})" if classes else ""
    return schema_to_rows(found["schema"]), found["schema"], _warnings(found["warnings"]), source


@callback(
    Output(SCHEMA_FEATURES_GRID, "rowData", allow_duplicate=True),
    Input(SCHEMA_ADD_BUTTON, "n_clicks"),
    Input(SCHEMA_REMOVE_BUTTON, "n_clicks"),
    State(SCHEMA_FEATURES_GRID, "rowData"),
    State(SCHEMA_FEATURES_GRID, "selectedRows"),
    prevent_initial_call=True,
)
def add_or_remove(_add, _remove, rows, selected):
    rows = list(rows or [])
    if ctx.triggered_id == SCHEMA_ADD_BUTTON:
        return [*rows, new_row(rows)]
    chosen = {r.get("name") for r in selected or []}
    if not chosen:
        raise PreventUpdate
    return [r for r in rows if r.get("name") not in chosen]


@callback(
    Output(SCHEMA_VALIDATION_DIV, "children"),
    Output(SCHEMA_DOC_STORE, "data"),
    Input(SCHEMA_FEATURES_GRID, "rowData"),
    Input(SCHEMA_FEATURES_GRID, "cellValueChanged"),
    State(SCHEMA_BASE_STORE, "data"),
    State(ids.SHELL_ARTIFACT_STORE, "data"),
)
def validate(rows, _changed, base, store):
    """Live validation: every edit rebuilds the document and checks it (and, with a model, its fit)."""
    if not rows:
        return dbc.Alert("No features yet: fill from the model, drop a sample CSV or add a feature.",
                         color="secondary", id="schema-empty-alert"), None
    doc, parse_errors = rows_to_schema(rows, base)
    checked = schemas.check_schema(doc, _artifact(store))
    problems = messages({**parse_errors, **checked["errors"]}, rows)
    if checked["mismatch"]:
        problems.append(checked["mismatch"]["message"])
    if problems:
        return dbc.Alert([html.Strong("The schema needs fixing"), html.Ul([html.Li(p) for p in problems],
                                                                          className="mb-0")],
                         color="danger", id="schema-invalid-alert"), None if checked["errors"] else doc
    return dbc.Alert(f"The schema is valid: {len(rows)} feature(s).", color="success",
                     id="schema-valid-alert"), doc


@callback(
    Output(SCHEMA_PREVIEW_GRID, "rowData"),
    Output(SCHEMA_PREVIEW_GRID, "columnDefs"),
    Output(SCHEMA_HISTOGRAMS_DIV, "children"),
    Output(SCHEMA_PREVIEW_ERROR, "children"),
    Output(SCHEMA_EDGE_CASES_GRID, "rowData"),
    Input(SCHEMA_DOC_STORE, "data"),
    Input(SCHEMA_ROWS_INPUT, "value"),
    Input(SCHEMA_SEED_INPUT, "value"),
    Input(SCHEMA_GENERATOR_SELECT, "value"),
)
def show_preview(doc, n_rows, seed, generator):
    if not doc:
        return [], [], [], None, []
    try:
        found = schemas.preview_summary(doc, int(n_rows or 500), int(seed or 0), generator or "independent")
        cases = schemas.edge_case_rows(doc)
    except ModelwatchError as exc:
        return [], [], [], dbc.Alert(exc.message, color="warning", id="schema-preview-alert"), []
    graphs = [dbc.Col(dcc.Graph(figure=feature_histogram(h), config=GRAPH_CONFIG,
                                id={"type": "schema-histogram-graph", "index": h["name"]}), md=4)
              for h in found["histograms"]]
    return found["rows"], [{"field": c} for c in found["columns"]], graphs, None, cases


@callback(
    Output(SCHEMA_EXPORT_DOWNLOAD, "data"),
    Input(SCHEMA_EXPORT_BUTTON, "n_clicks"),
    State(SCHEMA_FEATURES_GRID, "rowData"),
    State(SCHEMA_BASE_STORE, "data"),
    prevent_initial_call=True,
)
def export_json(_clicks, rows, base):
    if not rows:
        raise PreventUpdate
    doc, _ = rows_to_schema(rows, base)
    return {"content": json.dumps(doc, indent=2), "filename": "schema.json", "type": "application/json"}


@callback(
    Output(SCHEMA_DATA_DOWNLOAD, "data"),
    Output(SCHEMA_PREVIEW_ERROR, "children", allow_duplicate=True),
    Input(SCHEMA_DATA_BUTTON, "n_clicks"),
    State(SCHEMA_DOC_STORE, "data"),
    State(SCHEMA_ROWS_INPUT, "value"),
    State(SCHEMA_SEED_INPUT, "value"),
    State(SCHEMA_GENERATOR_SELECT, "value"),
    prevent_initial_call=True,
)
def download_data(_clicks, doc, n_rows, seed, generator):
    if not doc:
        raise PreventUpdate
    try:
        data = schemas.generate_csv(doc, int(n_rows or 500), int(seed or 0), generator or "independent")
    except ModelwatchError as exc:
        return no_update, dbc.Alert(exc.message, color="warning")
    return dcc.send_bytes(data, "data.csv"), None


@callback(Output(SCHEMA_RUN_BUTTON, "disabled"), Input(SCHEMA_DOC_STORE, "data"))
def allow_run(doc):
    """A run can start from the schema once it validates."""
    return not doc


@callback(
    Output(ids.SHELL_SCHEMA_STORE, "data", allow_duplicate=True),
    Output(ids.SHELL_LOCATION, "href", allow_duplicate=True),
    Input(SCHEMA_RUN_BUTTON, "n_clicks"),
    State(SCHEMA_DOC_STORE, "data"),
    prevent_initial_call=True,
)
def run_with_schema(n_clicks, doc):
    """Hand the edited schema to the Upload page, where the run's other settings are chosen."""
    if not n_clicks or not doc:
        raise PreventUpdate
    return doc, "/upload"
