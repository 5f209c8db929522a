"""Explainability tab: which explainer and why, importance, beeswarm, dependence, drift shift, and a table of
explained rows whose clicked row drives the waterfall or, when picked, its LIME weights and where LIME and SHAP
agree (the samples live in a dcc.Store on the page)."""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from modelwatch.dashboard.sections import skipped
from modelwatch.figures.explain import (
    beeswarm_figure,
    dependence_figure,
    drift_shift_figure,
    importance_figure,
    lime_figure,
    waterfall_figure,
)

SAMPLES_GRID = "run-explain-samples-grid"
SAMPLES_STORE = "run-explain-samples-store"
WATERFALL_GRAPH = "run-explain-waterfall-graph"
METHOD_RADIO = "run-explain-method-radio"
AGREEMENT_TEXT = "run-explain-agreement"
N_DEPENDENCE_SHOWN = 3


def _card(title: str, value: Any, hint: str = "") -> dbc.Col:
    body = [html.Div(title, className="text-muted small"), html.H6(str(value), className="mb-0")]
    if hint:
        body.append(html.Div(hint, className="text-muted small"))
    return dbc.Col(dbc.Card(dbc.CardBody(body)), md=3)


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else "—" if value is None else str(value)


def _grid(samples: list[dict[str, Any]], features: list[str]) -> dag.AgGrid:
    """One line per explained row: prediction, class, its largest contribution, then the raw values."""
    rows = []
    for i, sample in enumerate(samples):
        top = max(sample["contributions"].items(), key=lambda kv: abs(kv[1]), default=("", 0.0))
        rows.append({"index": i, "prediction": round(sample["prediction"], 6), "class": sample.get("class"),
                     "top": f"{top[0]} ({top[1]:+.3g})", **{f: sample["row"].get(f) for f in features}})
    columns = [{"field": "index", "headerName": "#", "width": 70}, {"field": "prediction"},
               {"field": "top", "headerName": "largest contribution"}]
    if any(s.get("class") is not None for s in samples):
        columns.insert(2, {"field": "class"})
    columns += [{"field": f} for f in features]
    return dag.AgGrid(id=SAMPLES_GRID, rowData=rows, columnDefs=columns, getRowId="params.data.index",
                      defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 90},
                      dashGridOptions={"animateRows": False}, className="ag-theme-alpine",
                      style={"height": "360px"})


def _summary(section: dict[str, Any]) -> list:
    additivity = section.get("additivity_max_error")
    cards = dbc.Row([
        _card("explainer", section.get("explainer")),
        _card("raw-feature method", section.get("method")),
        _card("output explained", section.get("output") or "—",
              "each row for its predicted class" if section.get("class") == "predicted" else ""),
        _card("additivity max error", _fmt(additivity), f"{section.get('n_explained', 0)} rows explained"),
    ], className="g-2 mb-2")
    notes = [dbc.Alert(section["why"], color="light", className="small mb-2", id="run-explain-why-alert")]
    if section.get("sampled"):
        notes.append(dbc.Alert(f"Sampled: {section['sampled']}", color="info", className="small mb-2"))
    return [cards, *notes]


def _drift(section: dict[str, Any]) -> list:
    drift = section.get("drift") or {}
    if not drift or "skipped" in drift:
        return [dbc.Alert(f"Importance under drift skipped: {drift.get('skipped', 'not computed')}",
                          color="secondary", className="small")]
    moved = ", ".join(drift.get("most_changed") or []) or "none"
    return [dcc.Graph(figure=drift_shift_figure(section), id="run-explain-drift-graph"),
            html.Div(f"Attribution moved most for: {moved}", className="small text-muted")]


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The explainability section: cards and notes, figures, the samples table and its waterfall."""
    alert = skipped(section)
    if alert:
        return alert
    samples = [{**s, "index": i} for i, s in enumerate(section.get("samples") or [])]
    features = [e["feature"] for e in section.get("feature_importance") or []]
    parts = _summary(section) + [
        dbc.Row([dbc.Col(dcc.Graph(figure=importance_figure(section), id="run-explain-importance-graph"), md=5),
                 dbc.Col(dcc.Graph(figure=beeswarm_figure(section), id="run-explain-beeswarm-graph"), md=7)]),
    ]
    dependence = section.get("dependence") or []
    if dependence:
        parts.append(dbc.Row([dbc.Col(dcc.Graph(figure=dependence_figure(section, e["feature"])), md=4)
                              for e in dependence[:N_DEPENDENCE_SHOWN]], id="run-explain-dependence-row"))
    if samples:
        parts += [
            html.H5("Explained rows", className="mt-3"),
            html.Div("Click a row to see how its prediction is built.", className="small text-muted mb-1"),
            dcc.Store(id=SAMPLES_STORE, data=samples),
            dbc.Row([dbc.Col(_grid(samples, features), md=6),
                     dbc.Col(_method_picker(samples) + [
                         dcc.Graph(figure=waterfall_figure(samples[0]), id=WATERFALL_GRAPH),
                         html.Div(_agreement(samples[0]), id=AGREEMENT_TEXT, className="small text-muted")], md=6)]),
        ]
    return parts + _drift(section)


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


@callback(
    Output(WATERFALL_GRAPH, "figure"),
    Output(AGREEMENT_TEXT, "children"),
    Input(SAMPLES_GRID, "cellClicked"),
    Input(METHOD_RADIO, "value"),
    State(SAMPLES_STORE, "data"),
    prevent_initial_call=True,
)
def show_sample(cell: dict[str, Any] | None, method: str | None, samples: list[dict[str, Any]] | None):
    """Draw the clicked row's SHAP waterfall or LIME weights (its data is already in the page's store)."""
    if not samples:
        raise PreventUpdate
    row_id = (cell or {}).get("rowId")
    index = int(row_id) if row_id not in (None, "") else int((cell or {}).get("rowIndex", 0))
    if not 0 <= index < len(samples):
        raise PreventUpdate
    sample = samples[index]
    return (lime_figure(sample) if method == "lime" else waterfall_figure(sample)), _agreement(sample)
