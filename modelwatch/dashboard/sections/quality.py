"""Quality tab: warnings first (a rare class, a missed class, no better than the baseline), then readable metrics
beside their interval and the baseline's, a cut-off slider for binary classifiers that redraws the confusion
matrix, precision and recall from the Result's cut-off table (the model is never called again), and the task's
curves; the same figures for ``current``."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from modelwatch.dashboard.sections import skipped
from modelwatch.figures import glossary
from modelwatch.figures.format import GRAPH_CONFIG, number, percent
from modelwatch.figures.quality import (
    at_cutoff,
    calibration_figure,
    class_label,
    confusion_matrix_figure,
    cutoff_rates_figure,
    default_cutoff_index,
    gains_figure,
    pr_figure,
    predicted_actual_figure,
    quality_figures,
    residual_histogram_figure,
    residuals_by_feature_figure,
    residuals_figure,
    roc_figure,
)

CUTOFF_SLIDER = "run-quality-cutoff-slider"
CUTOFF_TEXT = "run-quality-cutoff-text"
CUTOFF_STORE = "run-quality-cutoff-store"
MATRIX_GRAPH = "run-quality-confusion-matrix-graph"
ROC_GRAPH = "run-quality-roc-graph"
RATES_GRAPH = "run-quality-cutoff-rates-graph"
PR_GRAPH = "run-quality-pr-graph"
RESIDUAL_FEATURE = "run-quality-residual-feature"
RESIDUAL_STORE = "run-quality-residual-store"
RESIDUAL_FEATURE_GRAPH = "run-quality-residuals-by-feature-graph"
WHERE = {"sample": "the labelled sample sent with the run",
         "current": "current data: the recent production rows sent with the run"}


def _metrics_table(block: dict[str, Any], current: dict[str, Any] | None) -> dbc.Table:
    ci = block.get("ci") or {}
    baseline = (block.get("baseline") or {}).get("metrics")
    heads = ["metric", "value", "95% interval"] + (["baseline"] if baseline else []) + (["current"] if current else [])
    rows = []
    for name, value in (block.get("metrics") or {}).items():
        interval = ci.get(name)
        label = [html.Div(glossary.label(name)), html.Div(glossary.definition(name), className="small text-muted")]
        cells = [html.Td(label, title=name), html.Td(glossary.shown(name, value)),
                 html.Td(" – ".join(glossary.shown(name, bound) for bound in interval) if interval else "")]
        if baseline:
            cells.append(html.Td(glossary.shown(name, baseline.get(name)), className="text-muted"))
        if current:
            cells.append(html.Td(glossary.shown(name, (current.get("metrics") or {}).get(name))))
        rows.append(html.Tr(cells))
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in heads])), html.Tbody(rows)], size="sm",
                     striped=True, responsive=True, id="run-quality-table")


def _per_class(block: dict[str, Any]) -> list:
    per_class = block.get("per_class") or {}
    if not per_class:
        return []
    names = block.get("class_names")
    total = sum(s["support"] for s in per_class.values()) or 1
    header = html.Thead(html.Tr([html.Th(h) for h in ("class", "precision", "recall", "F1", "rows", "share")]))
    rows = [html.Tr([html.Td(class_label(label, names))] + [html.Td(number(s[k])) for k in ("precision", "recall",
                                                                                             "f1")]
                    + [html.Td(number(s["support"])), html.Td(percent(s["support"] / total))])
            for label, s in per_class.items()]
    return [html.H6("Per class", className="mt-3"),
            dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, responsive=True, id="run-quality-per-class")]


def _graph(figure: Any, graph_id: str) -> dcc.Graph:
    return dcc.Graph(figure=figure, id=graph_id, config=GRAPH_CONFIG)


def _graphs(block: dict[str, Any], prefix: str) -> dbc.Row:
    return dbc.Row([dbc.Col(_graph(fig, f"run-{prefix}-{name.replace('_', '-')}-graph"), md=6)
                    for name, fig in quality_figures(block)])


def _warnings(block: dict[str, Any]) -> list:
    return [dbc.Alert(w["message"], color="warning", className="py-2 mb-2", id=f"run-quality-warning-{w['code']}")
            for w in block.get("warnings") or []]


def _baseline_note(block: dict[str, Any]) -> list:
    if not block.get("baseline"):
        return []
    what = "always predicting the mean" if block.get("task") == "regression" else \
        "always predicting the majority class (class shares as probabilities)"
    return [html.P(f"Baseline: {what}, fitted and scored on the same rows: the bar the model must clear.",
                   className="small text-muted", id="run-quality-baseline-note")]


def cutoff_text(block: dict[str, Any], index: int) -> str:
    """One line on what the cut-off at ``index`` of the table does to precision and recall."""
    row = at_cutoff(block["cutoffs"], index)
    positive = class_label(block["confusion_matrix"]["labels"][1], block.get("class_names"))
    return (f"Cut-off {number(row['threshold'])} ({block['cutoffs']['score']} of class {positive}): "
            f"precision {number(row['precision'])}, recall {number(row['recall'])}, "
            f"F1 {number(row['f1'])}, accuracy {percent(row['accuracy'])}, "
            f"{percent(row['positive_rate'])} of rows flagged")


def _cutoff_panel(block: dict[str, Any]) -> list:
    """Binary classifiers: the slider over the cut-off table, the confusion matrix and ROC point it moves."""
    table = block.get("cutoffs")
    if not table or len((block.get("confusion_matrix") or {}).get("labels") or []) != 2:
        return []
    start = default_cutoff_index(table)
    last = len(table["threshold"]) - 1
    marks = {i: number(table["threshold"][i], 2) for i in sorted({0, last // 4, last // 2, 3 * last // 4, last})}
    store = {k: block.get(k) for k in ("cutoffs", "confusion_matrix", "class_names")}
    store["curves"] = {k: (block.get("curves") or {}).get(k) or {} for k in ("roc", "pr")}
    return [
        html.H6("Cut-off", className="mt-3"),
        html.Div("Rows scoring at or above the cut-off are predicted positive. Move it to trade precision for "
                 "recall; the model's own cut-off is marked at the start.", className="small text-muted"),
        dcc.Store(id=CUTOFF_STORE, data=store),
        dcc.Slider(id=CUTOFF_SLIDER, min=0, max=last, step=1, value=start, marks=marks, included=False,
                   allow_direct_input=False),
        html.Div(cutoff_text(block, start), id=CUTOFF_TEXT, className="fw-semibold mb-2"),
        dbc.Row([dbc.Col(_graph(confusion_matrix_figure(block, start), MATRIX_GRAPH), md=6),
                 dbc.Col(_graph(cutoff_rates_figure(block, start), RATES_GRAPH), md=6)]),
    ]


def _classification_graphs(block: dict[str, Any]) -> list:
    panel = _cutoff_panel(block)
    start = default_cutoff_index(block["cutoffs"]) if panel else None
    first = [] if panel else [dbc.Col(_graph(confusion_matrix_figure(block), MATRIX_GRAPH), md=6)]
    rest = [dbc.Col(_graph(roc_figure(block, start), ROC_GRAPH), md=6),
            dbc.Col(_graph(pr_figure(block, start), PR_GRAPH), md=6),
            dbc.Col(_graph(gains_figure(block), "run-quality-gains-graph"), md=6),
            dbc.Col(_graph(calibration_figure(block), "run-quality-calibration-graph"), md=6)]
    return panel + [dbc.Row(first + rest)]


def _regression_graphs(block: dict[str, Any]) -> list:
    residuals = block.get("residuals") or {}
    features = list(residuals.get("features") or {})
    picker = [dbc.Col([
        dcc.Store(id=RESIDUAL_STORE, data={"residuals": residuals}),
        dcc.Dropdown(id=RESIDUAL_FEATURE, options=features, value=features[0], clearable=False, className="mb-1"),
        _graph(residuals_by_feature_figure(block, features[0]), RESIDUAL_FEATURE_GRAPH)], md=6)] if features else []
    return [dbc.Row([dbc.Col(_graph(predicted_actual_figure(block), "run-quality-predicted-actual-graph"), md=6),
                     dbc.Col(_graph(residuals_figure(block), "run-quality-residuals-graph"), md=6),
                     dbc.Col(_graph(residual_histogram_figure(block), "run-quality-residual-histogram-graph"),
                             md=6), *picker])]


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The quality section, or a note that it needs labelled data."""
    alert = skipped(section)
    if alert:
        return alert
    current = section.get("current")
    where = section.get("evaluated_on", "sample")
    dropped = section.get("dropped_rows")
    parts: list = [
        html.P(f"{section['task']} · {number(section['n_rows'])} labelled rows of {WHERE.get(where, where)}"
               + (f" · {number(dropped)} rows without a usable label left out" if dropped else ""),
               className="text-muted"),
        *_warnings(section), *_baseline_note(section), _metrics_table(section, current), *_per_class(section),
        *(_regression_graphs(section) if section.get("task") == "regression" else _classification_graphs(section)),
    ]
    if current:
        parts += [html.H5(f"On current data ({number(current['n_rows'])} labelled rows)", className="mt-4"),
                  html.Div(WHERE["current"].capitalize() + ", scored like the sample.", className="small text-muted"),
                  *_warnings(current), _graphs(current, "quality-current")]
    return parts


@callback(
    Output(MATRIX_GRAPH, "figure"),
    Output(ROC_GRAPH, "figure"),
    Output(RATES_GRAPH, "figure"),
    Output(PR_GRAPH, "figure"),
    Output(CUTOFF_TEXT, "children"),
    Input(CUTOFF_SLIDER, "value"),
    State(CUTOFF_STORE, "data"),
    prevent_initial_call=True,
)
def apply_cutoff(index: int | None, block: dict[str, Any] | None):
    """Redraw the confusion matrix and the ROC point at the slider's cut-off, from the stored table."""
    if index is None or not block or not block.get("cutoffs"):
        raise PreventUpdate
    index = max(0, min(int(index), len(block["cutoffs"]["threshold"]) - 1))
    return (confusion_matrix_figure(block, index), roc_figure(block, index), cutoff_rates_figure(block, index),
            pr_figure(block, index), cutoff_text(block, index))


@callback(
    Output(RESIDUAL_FEATURE_GRAPH, "figure"),
    Input(RESIDUAL_FEATURE, "value"),
    State(RESIDUAL_STORE, "data"),
    prevent_initial_call=True,
)
def show_residual_feature(feature: str | None, block: dict[str, Any] | None):
    """Residuals against the picked feature."""
    if not feature or not block:
        raise PreventUpdate
    return residuals_by_feature_figure(block, feature)
