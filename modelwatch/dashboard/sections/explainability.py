"""Explainability tab: which rows were explained (real ones when the run had them) and by which explainer, importance,
beeswarm, a dependence plot with feature and colour pickers, a table of explained rows whose clicked row drives the
waterfall (SHAP in log-odds or probability, or LIME), a what-if editor that predicts and explains an edited row in
the sandbox, and the importance shift under drift (the explained rows live in a dcc.Store on the page)."""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from modelwatch.dashboard.sections import skipped
from modelwatch.errors import ModelwatchError
from modelwatch.figures.explain import (
    beeswarm_figure,
    dependence_from_samples,
    drift_shift_figure,
    importance_figure,
    interactions_figure,
    lime_figure,
    to_probability,
    waterfall_figure,
)
from modelwatch.figures.format import GRAPH_CONFIG, number, percent
from modelwatch.services import what_if

SAMPLES_GRID = "run-explain-samples-grid"
SAMPLES_STORE = "run-explain-samples-store"
WATERFALL_GRAPH = "run-explain-waterfall-graph"
METHOD_RADIO = "run-explain-method-radio"
AGREEMENT_TEXT = "run-explain-agreement"
SPACE_RADIO = "run-explain-space-radio"
DEPENDENCE_FEATURE = "run-explain-dependence-feature"
DEPENDENCE_COLOUR = "run-explain-dependence-colour"
DEPENDENCE_GRAPH = "run-explain-dependence-graph"
WHATIF_INPUT = "run-whatif-input"  # dict id {"type": WHATIF_INPUT, "index": <feature>}
WHATIF_BUTTON = "run-whatif-button"
WHATIF_RUN = "run-whatif-run-store"
WHATIF_GRAPH = "run-whatif-graph"
WHATIF_RESULT = "run-whatif-result"
LOG_ODDS, PROBABILITY = "log-odds", "probability"


def _card(title: str, value: Any, hint: str = "") -> dbc.Col:
    body = [html.Div(title, className="text-muted small"), html.H6(str(value), className="mb-0")]
    if hint:
        body.append(html.Div(hint, className="text-muted small"))
    return dbc.Col(dbc.Card(dbc.CardBody(body)), md=3)


def _grid(samples: list[dict[str, Any]], features: list[str]) -> dag.AgGrid:
    """One line per explained row: prediction, class, its largest contribution, then the raw values."""
    rows = []
    for i, sample in enumerate(samples):
        top = max(sample["contributions"].items(), key=lambda kv: abs(kv[1]), default=("", 0.0))
        rows.append({"index": str(i), "prediction": sample["prediction"], "class": sample.get("class"),
                     "top": f"{top[0]} ({number(top[1])})", **{f: sample["row"].get(f) for f in features}})
    columns = [{"field": "index", "headerName": "#", "width": 70},
               {"field": "prediction", "valueFormatter": {"function": "d3.format(',.3~r')(params.value)"}},
               {"field": "top", "headerName": "largest contribution"}]
    if any(s.get("class") is not None for s in samples):
        columns.insert(2, {"field": "class"})
    columns += [{"field": f} for f in features]
    return dag.AgGrid(id=SAMPLES_GRID, rowData=rows, columnDefs=columns, getRowId="params.data.index",
                      defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90},
                      dashGridOptions={"animateRows": False}, className="ag-theme-alpine",
                      style={"height": "360px"})


def _space(section: dict[str, Any]) -> str:
    """What the SHAP values are in, as the tab says it."""
    return str(section.get("output") or "model output")


def _binary_log_odds(section: dict[str, Any]) -> bool:
    return section.get("output") == LOG_ODDS and len(section.get("classes") or []) == 2


def _source(section: dict[str, Any]) -> list:
    """Which rows were explained; generated rows are called out (their correlations are not real)."""
    source = section.get("rows_source") or {"name": "synthetic", "note": "rows generated from the schema"}
    n = number(section.get("n_explained", 0))
    if source["name"] == "synthetic":
        return [dbc.Alert(f"Explained {n} synthetic rows: {source['note']}. Features were drawn independently, so "
                          "dependence plots may show combinations real data never has.", color="warning",
                          className="small mb-2", id="run-explain-source")]
    return [dbc.Alert(f"Explained {n} real rows: {source['note']} (config.explain.rows picks current, sample or "
                      "synthetic rows).", color="info", className="small mb-2", id="run-explain-source")]


def _summary(section: dict[str, Any]) -> list:
    additivity = section.get("additivity_max_error")
    cards = dbc.Row([
        _card("explainer", section.get("explainer")),
        _card("raw-feature method", section.get("method")),
        _card("SHAP values are in", _space(section),
              "each row for its predicted class" if section.get("class") == "predicted" else ""),
        _card("rows explained", number(section.get("n_explained", 0)),
              (section.get("rows_source") or {}).get("name", "")),
    ], className="g-2 mb-2")
    notes = _source(section) + [dbc.Alert(section["why"], color="light", className="small mb-2",
                                          id="run-explain-why-alert")]
    if section.get("sampled"):
        notes.append(html.Div(f"Sampled: {section['sampled']}", className="small text-muted mb-1"))
    if additivity is not None:
        notes.append(html.Div(f"Check: base value plus contributions reproduce the model's output within "
                              f"{additivity:.1e}.", className="small text-muted mb-2"))
    return [cards, *notes]


def _drift(section: dict[str, Any]) -> list:
    drift = section.get("drift") or {}
    if not drift or "skipped" in drift:
        return [dbc.Alert(f"Importance under drift skipped: {drift.get('skipped', 'not computed')}",
                          color="secondary", className="small")]
    moved = ", ".join(drift.get("most_changed") or []) or "none"
    return [dcc.Graph(figure=drift_shift_figure(section), id="run-explain-drift-graph", config=GRAPH_CONFIG),
            html.Div(f"Attribution moved most for: {moved}", className="small text-muted")]


def _dependence(section: dict[str, Any], samples: list[dict[str, Any]], features: list[str]) -> list:
    """A dependence plot of any feature, coloured by any other (the strongest interaction by default)."""
    entries = section.get("dependence") or []
    first = features[0]
    colour = next((e.get("interaction_feature") for e in entries if e["feature"] == first), None)
    options = [{"label": "no colour", "value": ""}] + [{"label": f, "value": f} for f in features]
    return [
        html.H5("Dependence", className="mt-3"),
        dbc.Row([
            dbc.Col([html.Label("feature", className="small text-muted"),
                     dcc.Dropdown(id=DEPENDENCE_FEATURE, options=features, value=first, clearable=False)], md=4),
            dbc.Col([html.Label("colour by", className="small text-muted"),
                     dcc.Dropdown(id=DEPENDENCE_COLOUR, options=options, value=colour or "", clearable=False)],
                    md=4),
        ], className="g-2"),
        dcc.Graph(figure=dependence_from_samples(samples, first, colour, _space(section)), id=DEPENDENCE_GRAPH,
                  config=GRAPH_CONFIG),
    ] + _interactions(section)


def _interactions(section: dict[str, Any]) -> list:
    """The interaction heatmap and its strongest pairs (tree models, when the budget allowed)."""
    found = section.get("interactions")
    if not found:
        return []
    pairs = "; ".join(f"{a} × {b} ({number(p['mean_abs'])})" for p in found.get("top") or [] for a, b in
                      [p["features"]])
    return [dcc.Graph(figure=interactions_figure(section), id="run-explain-interactions-graph", config=GRAPH_CONFIG),
            html.Div(f"Strongest pairs: {pairs}. Colour the dependence plot by the partner to see the interaction."
                     if pairs else "", className="small text-muted")]


def _space_picker(section: dict[str, Any]) -> list:
    """Log-odds or probability for a binary classifier explained in log-odds; a fixed label otherwise."""
    meaningful = _binary_log_odds(section)
    return [dbc.RadioItems(id=SPACE_RADIO, value=LOG_ODDS if meaningful else _space(section), inline=True,
                           className="small", style={} if meaningful else {"display": "none"}, options=[
                               {"label": "log-odds (exact SHAP values)", "value": LOG_ODDS},
                               {"label": "probability (contributions scaled to the probability change)",
                                "value": PROBABILITY}] if meaningful else [
                               {"label": _space(section), "value": _space(section)}])]


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The explainability section: cards and notes, figures, the samples table and its waterfall, what-if."""
    alert = skipped(section)
    if alert:
        return alert
    samples = [{**s, "index": i} for i, s in enumerate(section.get("samples") or [])]
    features = [e["feature"] for e in section.get("feature_importance") or []]
    space = _space(section)
    parts = _summary(section) + [
        dbc.Row([dbc.Col(dcc.Graph(figure=importance_figure(section), id="run-explain-importance-graph",
                                   config=GRAPH_CONFIG), md=5),
                 dbc.Col(dcc.Graph(figure=beeswarm_figure(section), id="run-explain-beeswarm-graph",
                                   config=GRAPH_CONFIG), md=7)]),
    ]
    if samples and features:
        parts += _dependence(section, samples, features) + [
            html.H5("Explained rows", className="mt-3"),
            html.Div("Click a row to see how its prediction is built, and to load it into the what-if editor.",
                     className="small text-muted mb-1"),
            dcc.Store(id=SAMPLES_STORE, data=samples),
            dbc.Row([dbc.Col(_grid(samples, features), md=6),
                     dbc.Col(_method_picker(samples) + _space_picker(section) + [
                         dcc.Graph(figure=waterfall_figure(samples[0], space=space), id=WATERFALL_GRAPH,
                                   config=GRAPH_CONFIG),
                         html.Div(_agreement(samples[0]), id=AGREEMENT_TEXT, className="small text-muted")], md=6)]),
        ]
        parts += _what_if_editor(section, samples[0], run.get("id"))
    return parts + _drift(section)


def _what_if_input(spec: dict[str, Any], value: Any) -> dbc.Col:
    """One feature of the editor: a dropdown for categories and booleans, a number box otherwise."""
    key = {"type": WHATIF_INPUT, "index": spec["name"]}
    if spec["type"] == "bool":
        field = dcc.Dropdown(id=key, options=[{"label": "true", "value": True}, {"label": "false", "value": False}],
                             value=value, clearable=spec["nullable"])
    elif spec["type"] == "categorical" and spec.get("categories"):
        field = dcc.Dropdown(id=key, options=[str(c) for c in spec["categories"]],
                             value=None if value is None else str(value), clearable=spec["nullable"])
    else:
        field = dbc.Input(id=key, type="number" if spec["type"] != "categorical" else "text", value=value,
                          size="sm", debounce=True)
    return dbc.Col([html.Label(spec["name"], className="small text-muted mb-0 text-truncate d-block",
                               title=spec["name"]), field], xs=6, md=3, lg=2)


def _what_if_editor(section: dict[str, Any], sample: dict[str, Any], run_id: str | None) -> list:
    """The what-if editor: the first explained row in editable fields, Predict, and its explanation."""
    specs = section.get("features") or [{"name": f, "type": "float", "nullable": True} for f in sample["row"]]
    if not run_id:
        return []
    return [
        html.H5("What if?", className="mt-4"),
        html.Div("Change the row's values and predict: the model runs again in the sandbox and the row is explained "
                 "with the same explainer.", className="small text-muted mb-2"),
        dcc.Store(id=WHATIF_RUN, data=run_id),
        dbc.Row([_what_if_input(spec, sample["row"].get(spec["name"])) for spec in specs], className="g-2 mb-2",
                id="run-whatif-fields"),
        dbc.Button("Predict", id=WHATIF_BUTTON, color="primary", size="sm", className="mb-2"),
        dcc.Loading(html.Div(id=WHATIF_RESULT, className="fw-semibold")),
        dcc.Graph(figure=waterfall_figure(None, empty="edit the values and press Predict"), id=WHATIF_GRAPH,
                  config=GRAPH_CONFIG),
    ]


def _method_picker(samples: list[dict[str, Any]]) -> list:
    has_lime = any(s.get("lime") for s in samples)
    return [dbc.RadioItems(id=METHOD_RADIO, value="shap", inline=True, className="small", options=[
        {"label": "SHAP", "value": "shap"},
        {"label": "LIME" if has_lime else "LIME (not computed for these rows)", "value": "lime",
         "disabled": not has_lime}])]


def _agreement(sample: dict[str, Any]) -> str:
    agreement = (sample.get("lime") or {}).get("agreement")
    if not agreement:
        return ""
    rho = agreement.get("spearman")
    return (f"LIME and SHAP share {agreement['shared']} of their top {agreement['k']} features"
            + (f" (rank correlation {rho:+.2f})" if rho is not None else "") + ".")


def _waterfall(sample: dict[str, Any], space: str | None):
    """The row's SHAP waterfall, restated in probability when asked (binary log-odds only)."""
    if space == PROBABILITY:
        return waterfall_figure(to_probability(sample), space="probability, scaled")
    return waterfall_figure(sample, space=space)


@callback(
    Output(WATERFALL_GRAPH, "figure"),
    Output(AGREEMENT_TEXT, "children"),
    Input(SAMPLES_GRID, "cellClicked"),
    Input(METHOD_RADIO, "value"),
    Input(SPACE_RADIO, "value"),
    State(SAMPLES_STORE, "data"),
    prevent_initial_call=True,
)
def show_sample(cell: dict[str, Any] | None, method: str | None, space: str | None,
                samples: list[dict[str, Any]] | None):
    """Draw the clicked row's SHAP waterfall or LIME weights (its data is already in the page's store)."""
    index = _clicked(cell, samples)
    sample = samples[index]
    return (lime_figure(sample) if method == "lime" else _waterfall(sample, space)), _agreement(sample)


def _clicked(cell: dict[str, Any] | None, samples: list[dict[str, Any]] | None) -> int:
    if not samples:
        raise PreventUpdate
    row_id = (cell or {}).get("rowId")
    index = int(row_id) if row_id not in (None, "") else int((cell or {}).get("rowIndex", 0))
    if not 0 <= index < len(samples):
        raise PreventUpdate
    return index


@callback(
    Output({"type": WHATIF_INPUT, "index": ALL}, "value"),
    Input(SAMPLES_GRID, "cellClicked"),
    State({"type": WHATIF_INPUT, "index": ALL}, "id"),
    State(SAMPLES_STORE, "data"),
    prevent_initial_call=True,
)
def load_what_if_row(cell: dict[str, Any] | None, ids: list[dict[str, str]], samples: list[dict[str, Any]] | None):
    """Copy the clicked row into the what-if editor."""
    row = samples[_clicked(cell, samples)]["row"]
    return [row.get(key["index"]) for key in ids]


@callback(
    Output(DEPENDENCE_GRAPH, "figure"),
    Input(DEPENDENCE_FEATURE, "value"),
    Input(DEPENDENCE_COLOUR, "value"),
    State(SAMPLES_STORE, "data"),
    State(SPACE_RADIO, "value"),
    prevent_initial_call=True,
)
def show_dependence(feature: str | None, colour: str | None, samples: list[dict[str, Any]] | None,
                    space: str | None):
    """The picked feature's dependence plot, coloured by the picked feature (or none)."""
    if not feature or not samples:
        raise PreventUpdate
    return dependence_from_samples(samples, feature, colour or None, space)


def what_if_text(result: dict[str, Any]) -> list:
    """The new prediction in words, its class probabilities, and notes on values outside the schema."""
    probabilities = result.get("probabilities") or {}
    prediction = result["prediction"]
    line = f"Prediction: {prediction if isinstance(prediction, str) else number(prediction)}"
    if probabilities:
        line += " · " + ", ".join(f"P({c}) {percent(p)}" for c, p in probabilities.items())
    return [html.Div(line)] + [html.Div(note, className="small text-muted") for note in result.get("notes") or []]


@callback(
    Output(WHATIF_GRAPH, "figure"),
    Output(WHATIF_RESULT, "children"),
    Input(WHATIF_BUTTON, "n_clicks"),
    State({"type": WHATIF_INPUT, "index": ALL}, "value"),
    State({"type": WHATIF_INPUT, "index": ALL}, "id"),
    State(WHATIF_RUN, "data"),
    State(SPACE_RADIO, "value"),
    prevent_initial_call=True,
)
def predict_what_if(n_clicks: int | None, values: list[Any], ids: list[dict[str, str]], run_id: str | None,
                    space: str | None):
    """Send the edited row to the sandbox (through the what-if service) and draw its explanation."""
    if not n_clicks or not run_id:
        raise PreventUpdate
    row = {key["index"]: value for key, value in zip(ids, values)}
    try:
        result = what_if.what_if(run_id, row)
    except ModelwatchError as exc:
        fields = (exc.details or {}).get("fields") or {}
        return no_update, dbc.Alert([html.Div(exc.message)] + [html.Div(f"{k}: {v}", className="small")
                                                               for k, v in fields.items()],
                                    color="danger", className="py-2", id="run-whatif-error")
    return _waterfall({**result["explanation"], "index": "what-if"}, space), what_if_text(result)
