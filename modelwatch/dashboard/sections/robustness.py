"""Robustness tab: how many cases passed, the feature-by-case map and the case table."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from modelwatch.dashboard.sections import skipped
from modelwatch.figures.robustness import robustness_map_figure

BADGE = {"ok": "success", "degraded": "warning", "error": "danger"}


def _table(cases: list[dict[str, Any]]) -> dbc.Table:
    header = html.Thead(html.Tr([html.Th(h) for h in ("case", "feature", "value", "status", "message")]))
    rows = [html.Tr([html.Td(c["name"]), html.Td(c.get("feature") or "—"), html.Td(c.get("value") or ""),
                     html.Td(dbc.Badge(c["status"], color=BADGE.get(c["status"], "secondary"))),
                     html.Td(c.get("message", ""), className="small")]) for c in cases]
    return dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, id="run-robustness-table")


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The robustness section: a summary line, the status map and every case."""
    alert = skipped(section)
    if alert:
        return alert
    cases = section.get("cases") or []
    counts = {status: sum(c["status"] == status for c in cases) for status in BADGE}
    summary = html.P([html.Strong(f"{section.get('passed', 0)}/{section.get('total', 0)} cases ok"), " · "]
                     + [dbc.Badge(f"{n} {status}", color=BADGE[status], className="me-1")
                        for status, n in counts.items()])
    tol = section.get("tolerance") or {}
    note = html.P(
        "degraded: the model answered, but with invalid output or an output that moved beyond the tolerance from "
        f"its answer on the same {section.get('base_rows', '')} unperturbed rows (probability shift "
        f"{tol.get('probability_tv', '')}, changed labels {tol.get('label_flip_rate', '')}, regression "
        f"{tol.get('regression_std', '')} std of predictions). Boundary values are never degraded.",
        className="text-muted small")
    parts: list = [summary, note]
    if section.get("not_run"):
        parts.append(dbc.Alert(f"{section['not_run']} cases were not run: out of time.", color="warning"))
    if any(c.get("feature") for c in cases):
        parts.append(dcc.Graph(figure=robustness_map_figure(section), id="run-robustness-graph"))
    parts.append(_table(cases))
    return parts
