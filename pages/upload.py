"""Upload: drop a model file, see what modelwatch makes of it, and start a run."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from modelwatch.dashboard import ids
from modelwatch.dashboard.uploads import decode_upload
from modelwatch.errors import ModelwatchError
from modelwatch.services import artifacts, runs, schemas

dash.register_page(__name__, path="/upload", name="Upload", order=1, title="Upload a model · modelwatch")

UPLOAD_MODEL_UPLOAD = "upload-model-upload"
UPLOAD_NAME_INPUT = "upload-name-input"
UPLOAD_SAMPLE_UPLOAD = "upload-sample-upload"
UPLOAD_SAMPLE_TEXT = "upload-sample-text"
UPLOAD_TARGET_INPUT = "upload-target-input"
UPLOAD_SAMPLES_INPUT = "upload-samples-input"
UPLOAD_SUMMARY_DIV = "upload-summary-div"
UPLOAD_START_BUTTON = "upload-start-button"
UPLOAD_START_ERROR = "upload-start-error"
UPLOAD_SAMPLE_STORE = "upload-sample-store"

DROP_STYLE = {"borderWidth": "2px", "borderStyle": "dashed", "borderRadius": "8px", "padding": "2rem",
              "textAlign": "center", "cursor": "pointer"}


def layout(**_kwargs) -> html.Div:
    return html.Div([
        html.H2("Upload a model"),
        dcc.Upload(html.Div(["Drag and drop a model file here, or ", html.A("choose one"),
                             html.Div(".pkl · .pickle · .joblib · .skops · .onnx", className="text-muted small")]),
                   id=UPLOAD_MODEL_UPLOAD, style=DROP_STYLE, multiple=False),
        dbc.Row([
            dbc.Col([dbc.Label("Display name"), dbc.Input(id=UPLOAD_NAME_INPUT, placeholder="default: the file name")]),
            dbc.Col([dbc.Label("Rows to generate"),
                     dbc.Input(id=UPLOAD_SAMPLES_INPUT, type="number", min=10, max=1_000_000, step=1, value=1000)]),
        ], className="my-3"),
        html.Div(id=UPLOAD_SUMMARY_DIV),
        html.H5("Optional: a sample of real data", className="mt-4"),
        dcc.Upload(html.Div(["Drop a CSV of reference rows (with its label column for quality metrics)"]),
                   id=UPLOAD_SAMPLE_UPLOAD, style={**DROP_STYLE, "padding": "1rem"}, multiple=False),
        html.Div(id=UPLOAD_SAMPLE_TEXT, className="small text-muted my-1"),
        dcc.Store(id=UPLOAD_SAMPLE_STORE),
        dbc.Row(dbc.Col([dbc.Label("Label column of the sample"), dbc.Input(id=UPLOAD_TARGET_INPUT)], md=4),
                className="mb-3"),
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
        ("Size", f"{block['size_bytes']:,} bytes"), ("sha256", block["sha256"][:16]),
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
    State(UPLOAD_TARGET_INPUT, "value"),
)
def keep_sample(contents: str | None, filename: str | None, store: dict | None = None, target: str | None = None):
    """Keep the dropped sample; with a model uploaded, say at once whether its columns fit (``core.columns``)."""
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
    Output(ids.SHELL_LOCATION, "href"),
    Output(UPLOAD_START_ERROR, "children"),
    Input(UPLOAD_START_BUTTON, "n_clicks"),
    State(ids.SHELL_ARTIFACT_STORE, "data"),
    State(UPLOAD_SAMPLE_STORE, "data"),
    State(UPLOAD_TARGET_INPUT, "value"),
    State(UPLOAD_SAMPLES_INPUT, "value"),
    State(UPLOAD_NAME_INPUT, "value"),
    prevent_initial_call=True,
)
def start_run(n_clicks, store: dict | None, sample: str | None, target: str | None, n_samples, name: str | None):
    if not n_clicks or not store:
        raise PreventUpdate
    try:
        run = runs.submit_run(
            artifacts.get_artifact(store["artifact_id"]), config={"n_samples": int(n_samples or 1000)},
            sample_csv=decode_upload(sample) if sample else None, target=target or None, name=name or store.get("name"),
            source="ui",
        )
    except ModelwatchError as exc:
        return no_update, dbc.Alert(exc.message, color="danger")
    return f"/runs/{run.id}", None
