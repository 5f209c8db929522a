"""Compare: pick two or more runs (v1 against v2) and see metrics side by side with relative deltas judged against
their noise, the settings that differ, a parallel-coordinates view and overlaid charts."""
from __future__ import annotations

from typing import Any

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, dcc, html, no_update

from modelwatch.errors import ModelwatchError
from modelwatch.figures.compare import compare_figures
from modelwatch.figures.format import GRAPH_CONFIG, MISSING, number, percent, signed
from modelwatch.services.compare import baseline_for, comparable_runs, compare_runs, default_pair

dash.register_page(__name__, path="/compare", name="Compare", order=4, title="Compare runs · modelwatch")

COMPARE_RUNS_DROPDOWN = "compare-runs-dropdown"
COMPARE_NOTE_DIV = "compare-note-div"
COMPARE_SETTINGS_DIV = "compare-settings-div"
COMPARE_TABLE_DIV = "compare-table-div"
COMPARE_PARALLEL_GRAPH = "compare-parallel-graph"
COMPARE_LATENCY_GRAPH = "compare-latency-graph"
COMPARE_DRIFT_GRAPH = "compare-drift-graph"
COMPARE_IMPORTANCE_GRAPH = "compare-importance-graph"

VERDICT_CLASS = {"better": "text-success fw-bold", "worse": "text-danger fw-bold", "same": "text-muted",
                 "n/a": "text-muted"}
VERDICT_WORD = {"better": "better", "worse": "worse", "same": "within noise", "n/a": ""}


def _delta(row: dict[str, Any], i: int) -> str:
    """"+0.05 (+5.6%)": the change against the baseline, absolute then relative."""
    delta, share = row["deltas"][i], row["relative"][i]
    if delta is None:
        return ""
    return signed(delta) + (f" ({'+' if share > 0 else ''}{percent(share)})" if share not in (None, 0) else "")


def metrics_table(data: dict[str, Any]) -> html.Div:
    """Metric | baseline | each other run with its change, green when better, red when worse, grey within noise
    (the noise band in the cell's tooltip)."""
    runs = data["runs"]
    header = html.Thead(html.Tr([html.Th("metric"), html.Th([runs[0]["label"], html.Div("baseline", className=
                                                                                          "small text-muted")])]
                                + [html.Th(run["label"]) for run in runs[1:]]))
    body = []
    for row in data["metrics"]:
        arrow, why = {"higher": ("↑", "higher is better"), "lower": ("↓", "lower is better")}.get(
            row["better"], ("", "neither way is better"))
        cells = [html.Td([row["label"], html.Span(f" {arrow}", className="text-muted")],
                         title=f"{row['key']}: {why}"),
                 html.Td(number(row["values"][0]))]
        for i in range(1, len(runs)):
            verdict = row["verdicts"][i]
            tip = (f"{VERDICT_WORD[verdict]} · noise band ±{number(row['noise'][i])}"
                   if row["values"][i] is not None else "not measured")
            cells.append(html.Td([number(row["values"][i]), " ",
                                  html.Span(_delta(row, i), className=VERDICT_CLASS[verdict])],
                                 className=f"compare-{verdict.replace('/', '')}", title=tip))
        body.append(html.Tr(cells, id={"type": "compare-metric-row", "index": row["key"]}))
    return html.Div(dbc.Table([header, html.Tbody(body)], striped=True, size="sm", hover=True, className="mb-0"),
                    className="table-scroll mb-3")


def settings_note(data: dict[str, Any]) -> dbc.Alert | None:
    """A warning listing the settings that differ: their metrics may not be comparable."""
    if not data["settings"]:
        return None
    items = [html.Li([html.Code(s["key"]), ": ", " → ".join(MISSING if v is None else str(v) for v in s["values"])])
             for s in data["settings"]]
    return dbc.Alert([html.Strong("These runs differ in their settings"),
                      " (their figures may differ for that reason, not only because of the model):",
                      html.Ul(items, className="mb-0 small")], color="warning", className="py-2")


def _chosen(runs: str | None, known: set[str]) -> tuple[list[str], str | None]:
    """The runs to show first, and a note when "Compare…" found no earlier run of the same model."""
    chosen = [i for i in (runs or "").split(",") if i in known]
    if len(chosen) == 1:  # from a run page: against the previous successful run of the same model
        baseline = baseline_for(chosen[0])
        if baseline is None:
            return chosen, "No earlier successful run of this model: pick a run to compare it with."
        return [baseline, *chosen], None
    return (chosen or default_pair()), None


def layout(runs: str | None = None, **_kwargs) -> html.Div:
    options = [{"label": r["label"], "value": r["id"]} for r in comparable_runs()]
    chosen, note = _chosen(runs, {o["value"] for o in options})
    return html.Div([
        html.H2("Compare runs"),
        html.P("The first run is the baseline. Changes are green when better and red when worse for that metric "
               "(higher accuracy is better, higher latency is worse), and grey when within the noise: the runs' "
               "bootstrap intervals where the results have them, and at least 5% for timings, 0.5% for scores.",
               className="text-muted small"),
        dcc.Dropdown(id=COMPARE_RUNS_DROPDOWN, options=options, value=chosen, multi=True,
                     placeholder="pick two or more runs", className="mb-2"),
        html.Div(dbc.Alert(note, color="info", className="py-2") if note else None, id=COMPARE_NOTE_DIV),
        html.Div(id=COMPARE_SETTINGS_DIV),
        html.Div(id=COMPARE_TABLE_DIV),
        dcc.Graph(id=COMPARE_PARALLEL_GRAPH, config=GRAPH_CONFIG),
        dcc.Graph(id=COMPARE_LATENCY_GRAPH, config=GRAPH_CONFIG),
        dcc.Graph(id=COMPARE_DRIFT_GRAPH, config=GRAPH_CONFIG),
        dcc.Graph(id=COMPARE_IMPORTANCE_GRAPH, config=GRAPH_CONFIG),
    ])


@callback(
    Output(COMPARE_SETTINGS_DIV, "children"),
    Output(COMPARE_TABLE_DIV, "children"),
    Output(COMPARE_PARALLEL_GRAPH, "figure"),
    Output(COMPARE_LATENCY_GRAPH, "figure"),
    Output(COMPARE_DRIFT_GRAPH, "figure"),
    Output(COMPARE_IMPORTANCE_GRAPH, "figure"),
    Input(COMPARE_RUNS_DROPDOWN, "value"),
)
def update(run_ids: list[str] | None):
    if not run_ids or len(run_ids) < 2:
        return None, dbc.Alert("Pick at least two runs.", color="secondary"), *[no_update] * 4
    try:
        data = compare_runs(run_ids)
    except ModelwatchError as exc:
        return None, dbc.Alert(exc.message, color="warning"), *[no_update] * 4
    figures = dict(compare_figures(data["runs"], data["metrics"]))
    return (settings_note(data), metrics_table(data), figures["parallel"], figures["latency"], figures["drift"],
            figures["importance"])
