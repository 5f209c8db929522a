"""Upload: drop a model file, see what modelwatch makes of it, choose the run's settings and start it."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from modelwatch.auth.permissions import WRITE
from modelwatch.dashboard import ids, run_settings
from modelwatch.dashboard.access import can
from modelwatch.dashboard.run_settings import (
    SETTINGS_BATCHES_DROPDOWN,
    SETTINGS_DRIFT_KINDS_DROPDOWN,
    SETTINGS_EXPLAIN_INPUT,
    SETTINGS_GATE_ADD_BUTTON,
    SETTINGS_GATE_CLEAR_BUTTON,
    SETTINGS_GATE_OP_SELECT,
    SETTINGS_GATE_PATH_DROPDOWN,
    SETTINGS_GATE_VALUE_INPUT,
    SETTINGS_GATES_LIST,
    SETTINGS_GATES_STORE,
    SETTINGS_GENERATOR_SELECT,
    SETTINGS_SEED_INPUT,
    SETTINGS_SEVERITIES_INPUT,
)
from modelwatch.dashboard.uploads import decode_upload
from modelwatch.errors import ModelwatchError
from modelwatch.figures.format import bytes_
from modelwatch.services import artifacts, registry, runs, sample_match, schemas

dash.register_page(__name__, path="/upload", name="Upload", order=1, title="Upload a model · modelwatch",
                   permission=WRITE)

UPLOAD_MODEL_UPLOAD = "upload-model-upload"
UPLOAD_NAME_INPUT = "upload-name-input"
UPLOAD_SAMPLE_UPLOAD = "upload-sample-upload"
UPLOAD_SAMPLE_TEXT = "upload-sample-text"
UPLOAD_MATCH_DIV = "upload-match-div"
UPLOAD_TARGET_DROPDOWN = "upload-target-dropdown"
UPLOAD_CURRENT_UPLOAD = "upload-current-upload"
UPLOAD_CURRENT_TEXT = "upload-current-text"
UPLOAD_CURRENT_STORE = "upload-current-store"
UPLOAD_SCHEMA_DIV = "upload-schema-div"
UPLOAD_SCHEMA_CLEAR_BUTTON = "upload-schema-clear-button"
UPLOAD_SAMPLES_INPUT = "upload-samples-input"
UPLOAD_SUMMARY_DIV = "upload-summary-div"
UPLOAD_START_BUTTON = "upload-start-button"
UPLOAD_START_ERROR = "upload-start-error"
UPLOAD_SAMPLE_STORE = "upload-sample-store"

DROP_STYLE = {"borderWidth": "2px", "borderStyle": "dashed", "borderRadius": "8px", "padding": "2rem",
              "textAlign": "center", "cursor": "pointer"}


def layout(**_kwargs) -> html.Div:
    if not can(WRITE):
        return html.Div([html.H2("Upload a model"),
                         dbc.Alert("Your role may read runs but not upload models; ask an admin for the editor role.",
                                   color="secondary", id="upload-forbidden-alert")])
    small_drop = {**DROP_STYLE, "padding": "1rem"}
    return html.Div([
        html.H2("Upload a model"),
        dcc.Upload(html.Div(["Drag and drop a model file here, or ", html.A("choose one"),
                             html.Div(".pkl · .pickle · .joblib · .skops · .onnx", className="text-muted small")]),
                   id=UPLOAD_MODEL_UPLOAD, style=DROP_STYLE, multiple=False),
        dbc.Row([
            dbc.Col([dbc.Label("Display name"), dbc.Input(id=UPLOAD_NAME_INPUT, placeholder="default: the file name")]),
            dbc.Col([dbc.Label("Rows to generate"),
                     dbc.Input(id=UPLOAD_SAMPLES_INPUT, type="number", min=run_settings.MIN_ROWS,
                               max=run_settings.MAX_ROWS, step=1, value=1000)]),
        ], className="my-3"),
        html.Div(id=UPLOAD_SUMMARY_DIV),
        html.H5("Optional: a sample of real data", className="mt-4"),
        dcc.Upload(html.Div(["Drop a CSV of reference rows (with its label column for quality metrics)"]),
                   id=UPLOAD_SAMPLE_UPLOAD, style=small_drop, multiple=False),
        html.Div(id=UPLOAD_SAMPLE_TEXT, className="small text-muted my-1"),
        html.Div(id=UPLOAD_MATCH_DIV),
        dcc.Store(id=UPLOAD_SAMPLE_STORE),
        dbc.Row(dbc.Col([dbc.Label("Label column of the sample"),
                         dcc.Dropdown(id=UPLOAD_TARGET_DROPDOWN, options=[], placeholder="drop a sample first")],
                        md=4), className="mb-3"),
        html.H5("Optional: current (production) data", className="mt-2"),
        dcc.Upload(html.Div(["Drop a CSV of recent real rows to compare with the sample for drift"]),
                   id=UPLOAD_CURRENT_UPLOAD, style=small_drop, multiple=False),
        html.Div(id=UPLOAD_CURRENT_TEXT, className="small text-muted my-1"),
        dcc.Store(id=UPLOAD_CURRENT_STORE),
        html.Div(id=UPLOAD_SCHEMA_DIV),
        run_settings.panel(),
        dbc.Button("Start run", id=UPLOAD_START_BUTTON, color="primary", disabled=True),
        html.Div(id=UPLOAD_START_ERROR, className="mt-3"),
    ])


def summary_card(artifact, name: str) -> dbc.Card:
    block = artifacts.model_block(artifact)
    classes = block["classes"]
    rows = [
        ("Type", block["type"]), ("Task", block["task"]), ("Features", block["n_features"]),
        ("Feature names", ", ".join(block["feature_names"][:12]) + (" …" if block["n_features"] > 12 else "")),
        ("Classes", ", ".join(map(str, classes)) if classes else "—"), ("Format", block["format"]),
        ("Size", bytes_(block["size_bytes"])), ("sha256", block["sha256"][:16]),
    ]
    return dbc.Card(dbc.CardBody([
        html.H5(f"{name} is ready", className="card-title"),
        html.Dl([item for label, value in rows
                 for item in (html.Dt(label, className="col-sm-3"), html.Dd(str(value), className="col-sm-9"))],
                className="row mb-0"),
    ]), color="success", outline=True)


@callback(
    Output(UPLOAD_SUMMARY_DIV, "children"),
    Output(ids.SHELL_ARTIFACT_STORE, "data"),
    Output(UPLOAD_START_BUTTON, "disabled"),
    Input(UPLOAD_MODEL_UPLOAD, "contents"),
    State(UPLOAD_MODEL_UPLOAD, "filename"),
    State(UPLOAD_NAME_INPUT, "value"),
)
def store_model(contents: str | None, filename: str | None, name: str | None):
    if not contents:
        raise PreventUpdate
    try:
        artifact = artifacts.store_upload(decode_upload(contents), filename or "", name or None)
    except ModelwatchError as exc:
        return dbc.Alert(exc.message, color="danger", id="upload-error-alert"), None, True
    display = artifacts.display_name(filename or "", name)
    return summary_card(artifact, display), {"artifact_id": artifact.id, "name": display}, False


@callback(
    Output(UPLOAD_SAMPLE_STORE, "data"),
    Output(UPLOAD_SAMPLE_TEXT, "children"),
    Input(UPLOAD_SAMPLE_UPLOAD, "contents"),
    State(UPLOAD_SAMPLE_UPLOAD, "filename"),
    State(ids.SHELL_ARTIFACT_STORE, "data"),
    State(UPLOAD_TARGET_DROPDOWN, "value"),
)
def keep_sample(contents: str | None, filename: str | None, store: dict | None = None, target: str | None = None):
    """Keep the dropped sample; with a model uploaded, say at once whether its columns fit (``core.schema.columns``)."""
    if not contents:
        raise PreventUpdate
    if not store:
        return contents, f"Sample: {filename}"
    try:
        _, match = schemas.match_csv(decode_upload(contents), artifacts.get_artifact(store["artifact_id"]),
                                     target or None)
    except ModelwatchError as exc:  # kept: Start refuses it with the same message rather than run without it
        return contents, dbc.Alert(f"Sample {filename} refused: {exc.message}", color="danger",
                                   id="upload-sample-refused")
    mapped = list(match.mapped.items()) if match else []
    if not mapped:
        return contents, f"Sample: {filename}"
    more = f" (and {len(mapped) - 3} more)" if len(mapped) > 3 else ""
    return contents, (f"Sample: {filename}; columns matched to the model's names: "
                      + ", ".join(f"{c} → {f}" for c, f in mapped[:3]) + more)


@callback(
    Output(UPLOAD_SUMMARY_DIV, "children", allow_duplicate=True),
    Output(UPLOAD_START_BUTTON, "disabled", allow_duplicate=True),
    Input(UPLOAD_MODEL_UPLOAD, "id"),  # fires when the page arrives
    State(ids.SHELL_ARTIFACT_STORE, "data"),
    prevent_initial_call="initial_duplicate",
)
def resume_model(_arrived, store: dict | None):
    """On arrival (e.g. from the Schema page), the model uploaded earlier in this session is ready to run."""
    if not store:
        raise PreventUpdate
    try:
        artifact = artifacts.get_artifact(store["artifact_id"])
    except ModelwatchError:
        raise PreventUpdate from None
    return summary_card(artifact, store.get("name") or artifact.name), False


def match_preview(found: dict) -> dbc.Alert:
    """How the sample's columns meet the model's features, before anything runs."""
    matched, missing, unexpected = found["matched"], found["missing"], found["unexpected"]
    n = len(found["features"])
    color = "success" if n and not missing else "danger" if n and not matched else "warning"
    lines = [html.Div(f"{found['n_rows']:,} rows × {len(found['columns'])} columns"
                      + (f" · {len(matched)} of the model's {n} features found" if n else ""))]
    if missing:
        lines.append(html.Div(["Missing: ", html.Code(", ".join(missing[:20]) + (" …" if len(missing) > 20 else ""))]))
    if unexpected:
        lines.append(html.Div(["Not used by the model: ",
                               html.Code(", ".join(unexpected[:20]) + (" …" if len(unexpected) > 20 else ""))]))
    return dbc.Alert(lines, color=color, id="upload-match-alert", className="small")


@callback(
    Output(UPLOAD_MATCH_DIV, "children"),
    Output(UPLOAD_TARGET_DROPDOWN, "options"),
    Output(UPLOAD_TARGET_DROPDOWN, "value"),
    Input(UPLOAD_SAMPLE_STORE, "data"),
    Input(ids.SHELL_ARTIFACT_STORE, "data"),
)
def preview_sample(sample: str | None, store: dict | None):
    """Live: the sample's columns against the model's features, and its columns offered as the label."""
    if not sample:
        raise PreventUpdate
    try:
        artifact = artifacts.get_artifact(store["artifact_id"]) if store else None
    except ModelwatchError:
        artifact = None
    try:
        found = sample_match.preview(decode_upload(sample), artifact)
    except ModelwatchError as exc:
        return dbc.Alert(exc.message, color="danger", id="upload-match-alert"), [], None
    return match_preview(found), found["columns"], found["target"]


@callback(
    Output(UPLOAD_CURRENT_STORE, "data"),
    Output(UPLOAD_CURRENT_TEXT, "children"),
    Input(UPLOAD_CURRENT_UPLOAD, "contents"),
    State(UPLOAD_CURRENT_UPLOAD, "filename"),
)
def keep_current(contents: str | None, filename: str | None):
    if not contents:
        raise PreventUpdate
    return contents, f"Current data: {filename}"


@callback(
    Output(SETTINGS_GATES_STORE, "data"),
    Output(SETTINGS_GATES_LIST, "children"),
    Input(SETTINGS_GATE_ADD_BUTTON, "n_clicks"),
    Input(SETTINGS_GATE_CLEAR_BUTTON, "n_clicks"),
    State(SETTINGS_GATES_STORE, "data"),
    State(SETTINGS_GATE_PATH_DROPDOWN, "value"),
    State(SETTINGS_GATE_OP_SELECT, "value"),
    State(SETTINGS_GATE_VALUE_INPUT, "value"),
)
def edit_gates(_add, _clear, gates: dict | None, path: str | None, op: str | None, bound):
    gates = {} if ctx.triggered_id == SETTINGS_GATE_CLEAR_BUTTON else run_settings.add_gate(gates, path, op, bound)
    return gates, run_settings.gates_text(gates)


@callback(Output(SETTINGS_GATE_PATH_DROPDOWN, "options"), Input(SETTINGS_BATCHES_DROPDOWN, "value"))
def gate_paths(batch_sizes: list[int] | None):
    """The metric paths offered follow the batch sizes timed."""
    return run_settings.gate_paths(batch_sizes)


@callback(
    Output(UPLOAD_SCHEMA_DIV, "children"),
    Input(ids.SHELL_SCHEMA_STORE, "data"),
    Input(UPLOAD_SCHEMA_DIV, "id"),  # on arrival too, when the schema was handed over earlier
)
def schema_note(schema: dict | None, _arrived=None):
    """Say so when the run will use the schema edited on the Schema page."""
    if not schema:
        return []
    return dbc.Alert([f"The run uses the schema edited on the Schema page ({len(schema.get('features') or [])} "
                      "features). ", dbc.Button("Use the model's or the sample's instead", size="sm",
                                                color="link", id=UPLOAD_SCHEMA_CLEAR_BUTTON)],
                     color="info", id="upload-schema-alert")


@callback(
    Output(ids.SHELL_SCHEMA_STORE, "data", allow_duplicate=True),
    Input(UPLOAD_SCHEMA_CLEAR_BUTTON, "n_clicks"),
    prevent_initial_call=True,
)
def clear_schema(n_clicks):
    if not n_clicks:
        raise PreventUpdate
    return None


@callback(
    Output(ids.SHELL_LOCATION, "href"),
    Output(UPLOAD_START_ERROR, "children"),
    Input(UPLOAD_START_BUTTON, "n_clicks"),
    State(ids.SHELL_ARTIFACT_STORE, "data"),
    State(UPLOAD_SAMPLE_STORE, "data"),
    State(UPLOAD_CURRENT_STORE, "data"),
    State(UPLOAD_TARGET_DROPDOWN, "value"),
    State(ids.SHELL_SCHEMA_STORE, "data"),
    State(UPLOAD_NAME_INPUT, "value"),
    State(UPLOAD_SAMPLES_INPUT, "value"),
    State(SETTINGS_SEED_INPUT, "value"),
    State(SETTINGS_GENERATOR_SELECT, "value"),
    State(SETTINGS_BATCHES_DROPDOWN, "value"),
    State(SETTINGS_EXPLAIN_INPUT, "value"),
    State(SETTINGS_DRIFT_KINDS_DROPDOWN, "value"),
    State(SETTINGS_SEVERITIES_INPUT, "value"),
    State(SETTINGS_GATES_STORE, "data"),
    prevent_initial_call=True,
)
def start_run(n_clicks, store: dict | None, sample: str | None, current: str | None, target: str | None,
              schema: dict | None, name: str | None, n_samples, seed, generator, batch_sizes, explain_rows,
              drift_kinds, severities, gates):
    if not n_clicks or not store:
        raise PreventUpdate
    config, problems = run_settings.config_from_settings(
        n_samples=n_samples, seed=seed, generator=generator, batch_sizes=batch_sizes, explain_rows=explain_rows,
        drift_kinds=drift_kinds, severities=severities, gates=gates)
    if problems:
        return no_update, dbc.Alert([html.Div(p) for p in problems], color="danger", id="upload-settings-alert")
    try:
        run = runs.submit_run(
            artifacts.get_artifact(store["artifact_id"]), schema=schema or None, config=config,
            sample_csv=decode_upload(sample) if sample else None,
            current_csv=decode_upload(current) if current else None, target=target or None,
            name=name or store.get("name"), source="ui",
        )
        if name:  # a name typed by the user registers the file as a version of that model (issue #21)
            registry.register_run(run)
    except ModelwatchError as exc:
        return no_update, dbc.Alert(exc.message, color="danger")
    return f"/runs/{run.id}", None
