"""Robustness tab: the cases per outcome (with what each outcome means), per kind, on a feature-by-case map, and
every case in a paginated, filterable table, the worst first.

A correct rejection of invalid input is shown apart from a silent wrong answer and from a crash on valid input
(``core.checks.outcomes.OUTCOMES``); colours are Okabe-Ito (``figures.robustness``).
"""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from modelwatch.core.checks.outcomes import OUTCOMES, case_outcome
from modelwatch.core.data.edge_cases import KINDS
from modelwatch.dashboard.sections import skipped
from modelwatch.figures.format import GRAPH_CONFIG, number
from modelwatch.figures.robustness import (
    BATCH_ROW,
    OUTCOME_COLOR,
    OUTCOME_LABEL,
    OUTCOME_ORDER,
    OUTCOME_SYMBOL,
    OUTCOME_TEXT,
    by_kind,
    outcome_counts,
    robustness_map_figure,
)

PAGE_SIZE = 15
LEGEND = "run-robustness-legend"
KINDS_TABLE = "run-robustness-kinds"
CASES_GRID = "run-robustness-table"
BATCH_CASES = "the batch as a whole: ordinary rows, one row, an empty batch, reordered columns"


def _chip(name: str, text: str = "") -> html.Span:
    return html.Span(f"{OUTCOME_SYMBOL[name]} {text}".strip(), className="badge me-1",
                     style={"backgroundColor": OUTCOME_COLOR[name], "color": OUTCOME_TEXT[name]})


def _cards(counts: dict[str, int]) -> dbc.Row:
    """One card per outcome: its count, its name and what it means (the tab's legend)."""
    cards = [dbc.Col(dbc.Card(dbc.CardBody([
        html.Div([_chip(name), html.Strong(number(counts[name]), className="fs-5 me-1"), OUTCOME_LABEL[name]]),
        html.Div(OUTCOMES[name], className="small text-muted")], className="py-2"),
        style={"borderLeft": f"6px solid {OUTCOME_COLOR[name]}"}, id=f"run-robustness-{name}-card"), md=3)
        for name in OUTCOME_ORDER]
    return dbc.Row(cards, className="g-2 mb-2", id=LEGEND)


def _kinds_table(section: dict[str, Any]) -> dbc.Table:
    """Cases grouped by kind: what the kind puts in, and how many cases ended in each outcome."""
    head = html.Thead(html.Tr([html.Th("case kind"), html.Th("what it puts in")]
                              + [html.Th(_chip(name, OUTCOME_LABEL[name])) for name in OUTCOME_ORDER]))
    rows = [html.Tr([html.Td(html.Code(group["kind"])),
                     html.Td(BATCH_CASES if group["kind"] == BATCH_ROW else KINDS.get(group["kind"], ""),
                             className="small")]
                    + [html.Td(number(group["counts"][name]) if group["counts"][name] else "",
                               style={"color": OUTCOME_COLOR[name], "fontWeight": "bold"})
                       for name in OUTCOME_ORDER])
            for group in by_kind(section)]
    return dbc.Table([head, html.Tbody(rows)], size="sm", hover=True, id=KINDS_TABLE, className="small",
                     responsive=True)


def _grid(cases: list[dict[str, Any]]) -> dag.AgGrid:
    """Every case, the worst outcomes first, PAGE_SIZE to a page, each column filterable."""
    order = {name: i for i, name in enumerate(OUTCOME_ORDER)}
    rows = sorted(({"outcome": OUTCOME_LABEL.get(case_outcome(c) or "", c.get("status")),
                    "rank": order.get(case_outcome(c) or "", len(order)), "kind": c.get("kind") or c["name"],
                    "feature": c.get("feature") or "(batch)",
                    "value": "" if c.get("value") is None else str(c["value"]),
                    "message": c.get("message", "")} for c in cases), key=lambda r: r["rank"])
    styles = [{"condition": f"params.value == '{OUTCOME_LABEL[name]}'",
               "style": {"backgroundColor": OUTCOME_COLOR[name], "color": OUTCOME_TEXT[name]}}
              for name in OUTCOME_ORDER]
    columns = [{"field": "outcome", "cellStyle": {"styleConditions": styles}, "width": 210},
               {"field": "kind", "width": 150}, {"field": "feature", "width": 170}, {"field": "value", "width": 120},
               {"field": "message", "flex": 1, "minWidth": 300, "tooltipField": "message"}]
    return dag.AgGrid(id=CASES_GRID, rowData=rows, columnDefs=columns, className="ag-theme-alpine",
                      defaultColDef={"sortable": True, "filter": True, "resizable": True},
                      dashGridOptions={"pagination": True, "paginationPageSize": PAGE_SIZE,
                                       "paginationPageSizeSelector": [PAGE_SIZE, 50, 200], "animateRows": False,
                                       "domLayout": "autoHeight"})


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The robustness section: outcome cards, cases per kind, the outcome map and every case."""
    alert = skipped(section)
    if alert:
        return alert
    cases = section.get("cases") or []
    tol = section.get("tolerance") or {}
    note = html.P(
        f"Each case puts one awkward value into {section.get('base_rows', '')} ordinary rows. Tolerance of a silent "
        f"change: probability shift {number(tol.get('probability_tv'))}, share of changed labels "
        f"{number(tol.get('label_flip_rate'))}, regression {number(tol.get('regression_std'))} std of predictions; "
        "a feature's minimum and maximum may move the output as far as they like.", className="text-muted small")
    parts: list = [_cards(outcome_counts(section)), note]
    if section.get("not_run"):
        parts.append(dbc.Alert(f"{section['not_run']} cases were not run: out of time.", color="warning"))
    parts += [html.H5("By kind of case", className="mt-2"), _kinds_table(section)]
    if any(c.get("feature") for c in cases):
        parts.append(dcc.Graph(figure=robustness_map_figure(section), id="run-robustness-graph",
                               config=GRAPH_CONFIG))
    parts += [html.H5(f"All {number(len(cases))} cases", className="mt-3"), _grid(cases)]
    return parts
