"""The gates verdict of a run as Dash components: a badge for the run header, a table of checks for the summary."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

RUN_VERDICT_BADGE = "run-verdict-badge"
RUN_GATES_TABLE = "run-gates-table"


def badge(run: dict[str, Any]) -> list:
    """``gates passed`` / ``gates failed`` beside the run's status; nothing before the run has a verdict."""
    gates = run.get("gates")
    if not gates:
        return []
    passed = bool(gates.get("passed"))
    return [dbc.Badge("gates passed" if passed else "gates failed", color="success" if passed else "danger",
                      id=RUN_VERDICT_BADGE, className="ms-1")]


def _value(value: Any) -> str:
    return "not measured" if value is None else f"{value:.4g}"


def panel(gates: dict[str, Any] | None) -> list:
    """The verdict and one row per check: metric, bound, measured value, pass or fail."""
    if not gates:
        return []
    passed = bool(gates.get("passed"))
    source = "the default gate set" if gates.get("source") == "default" else "config.thresholds"
    rows = [html.Tr([html.Td(html.Code(c["metric"])),
                     html.Td(f"{'≥' if c['op'] == 'min' else '≤'} {c['threshold']:g}"),
                     html.Td(_value(c.get("value"))),
                     html.Td(dbc.Badge("pass" if c["passed"] else "fail",
                                       color="success" if c["passed"] else "danger"))])
            for c in gates.get("checks") or []]
    table = dbc.Table([html.Thead(html.Tr([html.Th("metric"), html.Th("bound"), html.Th("value"), html.Th("")])),
                       html.Tbody(rows)], size="sm", bordered=False, hover=True, id=RUN_GATES_TABLE)
    return [dbc.Alert([html.B("Gates passed" if passed else "Gates failed"), f" ({source})"],
                      color="success" if passed else "danger", className="mb-2"), table]
