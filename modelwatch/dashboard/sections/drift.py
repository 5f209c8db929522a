"""Drift tab, Evidently-style: four summary widgets, then one row per column (sorted by drift score or by impact)
that opens onto its reference-vs-current distribution, then the simulated scenarios: the most impactful ones, their
curves, and every scenario behind a filterable table.

The rows and their binned distributions live in a dcc.Store on the page (from ``result.drift.distributions``): a
click draws one column's plot without asking the server for the Result again.
"""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import MATCH, Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from modelwatch.dashboard.sections import skipped
from modelwatch.figures.drift import column_figure, drift_note, impact_heatmap, severity_curves
from modelwatch.figures.drift_overview import SORTS, column_rows, scenario_families, sort_rows, widgets
from modelwatch.figures.format import GRAPH_CONFIG, number, percent, percent_interval

SORT_RADIO = "run-drift-sort"
COLUMNS = "run-drift-columns"
COLUMNS_STORE = "run-drift-columns-store"
COLUMN_ROW = "run-drift-column"  # pattern id {"type": COLUMN_ROW, "index": feature}: the row's summary (clicked)
COLUMN_PLOT = "run-drift-column-plot"  # {"type": COLUMN_PLOT, "index": feature}: where its plot is drawn
SCENARIOS_GRID = "run-drift-scenarios-grid"
TOP_SCENARIOS = 10
DRIFT_COLOR, CALM_COLOR = "#D55E00", "#6c757d"  # Okabe-Ito vermillion for drift
GRID = {"display": "grid", "alignItems": "center", "columnGap": "0.75rem",
        "gridTemplateColumns": "minmax(10rem, 2.2fr) 1.6fr 0.8fr 0.8fr 0.8fr 0.9fr 1.5fr 0.8fr"}
HEADERS = ("column", "test", "statistic", "p-value", "drift score", "verdict", "largest impact",
           "breaks at (severity)")
HINTS = {"drift score": "1 at the test's threshold, above 1 the further past it (log p / log threshold for p-value "
                        "tests, statistic / threshold for distances)",
         "breaks at (severity)": "the smallest simulated severity at which a gate failed or the model raised"}


def _card(title: str, value: str, hint: Any, card_id: str, color: str | None = None) -> dbc.Col:
    body = [html.Div(title, className="text-muted small"),
            html.Div(value, className="fs-5 fw-semibold", style={"color": color} if color else None),
            html.Div(hint, className="small text-muted")]
    return dbc.Col(dbc.Card(dbc.CardBody(body, className="py-2"), id=card_id, className="h-100"), md=3)


def _impact(value: float | None, measure: str) -> str:
    if value is None:
        return "—"
    return f"{percent(value)} of predictions flip" if measure == "flip_rate" else f"{number(value)} std shift"


def _single_column(drift: dict[str, Any], reacts: dict[str, Any]) -> str:
    """The strongest single-column scenario (the Summary tab's headline) when the top one is not a single column."""
    strongest = drift.get("strongest") or {}
    if reacts["feature"] is not None or strongest.get("feature") is None:
        return ""
    return (f"; of single columns: {strongest['feature']} · {strongest['kind']} "
            f"({_impact(strongest.get('impact'), reacts['measure'])})")


def _widgets(drift: dict[str, Any]) -> dbc.Row:
    """Columns drifted, dataset drift with its rule, the scenario the model reacts to most, the breaking point."""
    w = widgets(drift)
    columns, dataset, reacts, breaking = w["columns"], w["dataset"], w["reacts_most"], w["breaking"]
    n_rows = (drift.get("current") or {}).get("n_rows")
    cards = [
        _card("Columns drifted (current data)",
              f"{number(columns['n_drifted'])} of {number(columns['n_columns'])}" if columns else "—",
              f"{percent(columns['share'])} of columns, on {number(n_rows)} current rows" if columns
              else "no current data: upload some to test it", "run-drift-columns-card",
              DRIFT_COLOR if columns and columns["n_drifted"] else None),
        _card("Dataset drift", ("yes" if dataset["detected"] else "no") if dataset else "—",
              [f"rule: at least {percent(dataset['share'])} of columns drift"]
              + ([html.Br(), f"domain classifier AUC {number(dataset['joint']['auc'])}: "
                  + ("the columns differ together" if dataset["joint"]["detected"] else "no joint drift")]
                 if dataset and dataset["joint"] else []) if dataset else "needs current data",
              "run-drift-dataset-card", DRIFT_COLOR if dataset and dataset["detected"] else None),
        _card("Reacts most to", reacts["label"] if reacts else "—",
              f"at severity {number(reacts['severity'])}: {_impact(reacts['impact'], reacts['measure'])}"
              + _single_column(drift, reacts) if reacts else "no scenario reached the model",
              "run-drift-reacts-card"),
        _card("Breaking point", f"{breaking['label']} at {number(breaking['severity'])}"
              if breaking and breaking["label"] else "none" if breaking else "—",
              (f"{breaking['why']}; {breaking['n_broken']} of {breaking['n_families']} scenarios break"
               if breaking["label"] else f"every scenario holds up to severity {number(breaking['holds_up_to'])}")
              if breaking else "no gate to break", "run-drift-breaking-card",
              DRIFT_COLOR if breaking and breaking["label"] else None),
    ]
    return dbc.Row(cards, className="g-2 mb-2", id="run-drift-widgets")


def _severity_legend(drift: dict[str, Any]) -> list:
    legend = drift.get("severity_legend") or {}
    if not legend:
        return []
    return [html.Details([html.Summary("What severity means, per kind"),
                          html.Ul([html.Li([html.Code(kind), f": {text}"]) for kind, text in legend.items()],
                                  className="mb-1")],
                         className="small text-muted", id="run-drift-severity-legend")]


def _p_value(value: float | None) -> str:
    return "< 0.001" if value is not None and value < 0.001 else number(value)


def _verdict(row: dict[str, Any]) -> Any:
    if row["drifted"] is None:
        return "—"
    text = "drift" + (" (missing share)" if row["missing_drift"] else "") if row["drifted"] else "no drift"
    return html.Span(text, className="badge", style={"backgroundColor": DRIFT_COLOR if row["drifted"]
                                                     else CALM_COLOR})


def _row(row: dict[str, Any], measure: str) -> html.Details:
    """One column: its figures in a grid line; opening it draws its distribution (``show_column``)."""
    impact = (percent if measure == "flip_rate" else number)(row["impact"])
    if row["impact"] is not None and row["impact_kind"]:
        impact += f" · {row['impact_kind']} {number(row['impact_severity'])}"
    breaks = number(row["breaks_at"]) + (f" · {row['breaks_kind']}" if row["breaks_kind"] else "")
    cells = [html.Span(["▸ ", row["feature"]], className="fw-semibold text-truncate", title=row["feature"]),
             html.Span(row["test_display"] or row["test"] or "—", className="text-truncate",
                       title=row["test_display"] or ""),
             *(html.Span(text) for text in (number(row["statistic"]), _p_value(row["p_value"]),
                                            number(row["score"]))),
             html.Span(_verdict(row)), html.Span(impact, className="text-truncate", title=impact),
             html.Span(breaks, className="text-truncate", title=breaks)]
    return html.Details([
        html.Summary(cells, id={"type": COLUMN_ROW, "index": row["feature"]}, className="py-1 border-bottom",
                     style={**GRID, "cursor": "pointer", "listStyle": "none"}),
        html.Div(id={"type": COLUMN_PLOT, "index": row["feature"]})])


def _rows(rows: list[dict[str, Any]], measure: str) -> list:
    headers = [*HEADERS[:6], f"{HEADERS[6]} ({'flip rate' if measure == 'flip_rate' else 'std shift'})",
               *HEADERS[7:]]
    head = html.Div([html.Span(h, title=HINTS.get(h, "")) for h in headers],
                    className="small text-muted fw-semibold border-bottom", style=GRID)
    return [head, *(_row(r, measure) for r in rows)]


def _columns(drift: dict[str, Any]) -> list:
    rows = column_rows(drift)
    if not rows:
        return []
    measure = drift.get("impact_measure", "impact")
    has_current = any(r["drifted"] is not None for r in rows)
    sort = "drift" if has_current else "impact"
    picker = dbc.RadioItems(id=SORT_RADIO, value=sort, inline=True, className="small", options=[
        {"label": f"by {text}", "value": key, "disabled": key == "drift" and not has_current}
        for key, text in SORTS.items()])
    title = html.Div([html.H5(f"{number(len(rows))} columns", className="mb-0 me-3"),
                      html.Span("sort", className="small text-muted me-2"), picker,
                      html.Span("click a column for its distribution", className="small text-muted ms-auto")],
                     className="d-flex align-items-center flex-wrap mt-1")
    return [title, dcc.Store(id=COLUMNS_STORE, data={"measure": measure, "rows": rows}),
            html.Div(html.Div(_rows(sort_rows(rows, sort), measure), id=COLUMNS, style={"minWidth": "56rem"}),
                     className="small", style={"overflowX": "auto"})]


def _prediction_drift(current: dict[str, Any] | None) -> list:
    pred = (current or {}).get("prediction_drift")
    if not pred or "skipped" in pred:
        return [dbc.Alert(f"Prediction drift: {pred['skipped']}", color="warning")] if pred else []
    test = pred.get("test") or {}
    text = (f"Prediction drift on current data: mean shift {number(pred['prediction_shift'])}, "
            f"PSI {number(pred['prediction_psi'])}"
            + (f", flip rate {percent(pred['flip_rate'])}" if pred.get("flip_rate") is not None else "")
            + (f", predicted-class shares moved {percent(pred['class_share_shift'])}"
               if pred.get("class_share_shift") is not None else ""))
    if test.get("test"):
        text += f"; {test['test']} says {'drift' if test['drift_detected'] else 'no drift'}"
    parts = [html.P(text, className="mt-3 mb-1")]
    quality = (current or {}).get("quality_drift")
    if quality:
        deltas = ", ".join(f"{k} {number(quality['reference'][k])} → {number(quality['current'][k])}"
                           for k in quality.get("delta", {}))
        parts.append(html.P(f"Quality on current data: {deltas}"))
    return parts


def _top_scenarios(drift: dict[str, Any]) -> list:
    """The most impactful scenario families: impact per severity, first detection, breaking point."""
    families = scenario_families(drift)
    if not families:
        return []
    severities = sorted({s["severity"] for s in drift.get("scenarios") or []})
    measure = drift.get("impact_measure", "impact")
    head = html.Thead(html.Tr([html.Th("scenario")] + [html.Th(f"impact at {number(s)}") for s in severities]
                              + [html.Th("test notices it from"), html.Th("breaks at")]))
    fmt = percent if measure == "flip_rate" else number
    body = [html.Tr([html.Td(f["label"])] + [html.Td(fmt(f["impact"].get(s))) for s in severities]
                    + [html.Td(number(f["detected_from"])),
                       html.Td(f"{number(f['breaks_at'])}" + (f": model raised {f['error'].split(':')[0]}"
                                                              if f["error"] else ""))])
            for f in families[:TOP_SCENARIOS]]
    shown = min(TOP_SCENARIOS, len(families))
    return [html.H5("Simulated drift", className="mt-4"),
            html.P(f"{number(len(drift.get('scenarios') or []))} scenarios ({len(families)} feature × kind "
                   f"families, each swept over severity); the {shown} with the largest impact on the predictions "
                   f"({measure}), the rest under “All scenarios” below.", className="small text-muted mb-1"),
            dbc.Table([head, html.Tbody(body)], size="sm", hover=True, className="small", responsive=True,
                      id="run-drift-top-scenarios")]


def _why(point: dict[str, Any]) -> str:
    if point.get("error"):
        return f"model raised {point['error'].split('. ')[0][:160]}"
    return "; ".join(f"{f['metric']} = {number(f['value'])}" for f in point["failed"])


def _breaking_points(drift: dict[str, Any]) -> list:
    """Scenarios that broke, grouped when they broke the same way (same kind, severity and reason)."""
    points = drift.get("breaking_points") or []
    if not points:
        return []
    groups: dict[tuple[str, float, str], list[str]] = {}
    for p in sorted((p for p in points if p["severity"] is not None), key=lambda p: p["severity"]):
        groups.setdefault((p["kind"], p["severity"], _why(p)), []).append(p["feature"] or "all features")
    gates = ", ".join(f"{path} {' '.join(f'{op} {number(v)}' for op, v in rule.items())}"
                      for path, rule in (drift.get("gates") or {}).items())
    holding = len(points) - sum(len(features) for features in groups.values())
    note = f"Gates ({points[0].get('gates')}): {gates}. {holding} of {len(points)} scenarios hold up to severity " \
           f"{number(max(p['max_severity_tested'] for p in points))}."
    rows = [html.Tr([html.Td(kind), html.Td(number(severity)), html.Td(why),
                     html.Td(", ".join(features[:6]) + (f" and {len(features) - 6} more" if len(features) > 6
                                                        else ""))])
            for (kind, severity, why), features in list(groups.items())[:TOP_SCENARIOS]]
    head = html.Thead(html.Tr([html.Th(h) for h in ("kind", "breaking severity", "why", "features")]))
    table = [dbc.Table([head, html.Tbody(rows)], size="sm", striped=True, className="small", responsive=True,
                       id="run-drift-breaking-table")] if rows else []
    return [html.H6("Breaking points", className="mt-3"), html.P(note, className="small text-muted mb-1"), *table]


def _all_scenarios(drift: dict[str, Any]) -> list:
    scenarios = drift.get("scenarios") or []
    if not scenarios:
        return []
    rows = [{"feature": s["feature"] or "all features", "kind": s["kind"], "severity": s["severity"],
             "test": s.get("test"), "statistic": s.get("statistic"), "p_value": s.get("p_value"),
             "detected": bool(s.get("drift_detected")), "power": s.get("power"), "impact": s.get("impact"),
             "power_ci": percent_interval(s.get("power_ci")),
             "error": (s.get("error") or "")[:200]} for s in scenarios]
    rounded = {"valueFormatter": {"function": "params.value == null ? '—' : d3.format(',.3~g')(params.value)"}}
    columns = [{"field": "feature"}, {"field": "kind"}, {"field": "severity", "filter": "agNumberColumnFilter"},
               {"field": "impact", "sort": "desc", "filter": "agNumberColumnFilter", **rounded},
               {"field": "detected"}, {"field": "power", "headerName": "detection power", **rounded,
                                       "headerTooltip": "the share of resamples in which the test flags the scenario"},
               {"field": "power_ci", "headerName": "power, 95% interval", "sortable": False,
                "headerTooltip": "exact (Clopper-Pearson): a power from a few resamples is known only this well"},
               {"field": "test"}, {"field": "statistic", **rounded}, {"field": "p_value", "headerName": "p-value",
                                                                      **rounded},
               {"field": "error", "flex": 1, "minWidth": 200, "tooltipField": "error"}]
    grid = dag.AgGrid(id=SCENARIOS_GRID, rowData=rows, columnDefs=columns, className="ag-theme-alpine",
                      defaultColDef={"sortable": True, "filter": True, "resizable": True, "minWidth": 100},
                      dashGridOptions={"pagination": True, "paginationPageSize": 20, "animateRows": False,
                                       "paginationPageSizeSelector": [20, 100, 500], "domLayout": "autoHeight"})
    return [html.Details([html.Summary(f"All {number(len(scenarios))} scenarios (filter and sort)"), grid],
                         className="mt-3", id="run-drift-all-scenarios")]


def _footer(drift: dict[str, Any]) -> html.P:
    return html.P(drift_note(drift), className="small text-muted mt-3")


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The drift section, or an alert when it was skipped."""
    alert = skipped(section)
    if alert:
        return alert
    charts = dbc.Row([dbc.Col(dcc.Graph(figure=severity_curves(section), id="run-drift-curves-graph",
                                        config=GRAPH_CONFIG), lg=6),
                      dbc.Col(dcc.Graph(figure=impact_heatmap(section), id="run-drift-heatmap-graph",
                                        config=GRAPH_CONFIG), lg=6)])
    return [_widgets(section), *_severity_legend(section), *_columns(section),
            *_prediction_drift(section.get("current")), *_top_scenarios(section), charts,
            *_breaking_points(section), *_all_scenarios(section), _footer(section)]


@callback(Output(COLUMNS, "children"), Input(SORT_RADIO, "value"), State(COLUMNS_STORE, "data"),
          prevent_initial_call=True)
def sort_columns(by: str | None, store: dict[str, Any] | None) -> list:
    """Re-order the column rows by drift score or by impact."""
    if not store or by not in SORTS:
        raise PreventUpdate
    return _rows(sort_rows(store["rows"], by), store["measure"])


@callback(Output({"type": COLUMN_PLOT, "index": MATCH}, "children"),
          Input({"type": COLUMN_ROW, "index": MATCH}, "n_clicks"), State(COLUMNS_STORE, "data"),
          prevent_initial_call=True)
def show_column(n_clicks: int | None, store: dict[str, Any] | None) -> Any:
    """Draw a column's reference-vs-current distribution when its row opens (odd clicks open it)."""
    if not n_clicks or n_clicks % 2 == 0 or not store:
        raise PreventUpdate
    feature = ctx.triggered_id["index"]
    row = next((r for r in store["rows"] if r["feature"] == feature), None)
    if row is None:
        raise PreventUpdate
    return dcc.Graph(figure=column_figure(feature, row["histogram"]), config=GRAPH_CONFIG,
                     id={"type": "run-drift-column-graph", "index": feature})
