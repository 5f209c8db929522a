"""A run's verdict as Dash components: badges for the run header, the traffic lights and the table of gates for
the summary."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

RUN_VERDICT_BADGE = "run-verdict-badge"
RUN_GATES_TABLE = "run-gates-table"
RUN_FIT_BADGE = "run-fit-badge"
RUN_LIGHTS_ROW = "run-lights-row"
COLORS = {"pass": "success", "warn": "warning", "fail": "danger", "incomplete": "secondary",
          "not_measured": "secondary"}
LABELS = {"pass": "fit to ship", "warn": "ship with care", "fail": "not fit to ship", "incomplete": "incomplete"}


def fit_badge(found: dict[str, Any] | None) -> list:
    """``fit to ship`` / ``ship with care`` / ``not fit to ship`` / ``incomplete`` from the run's verdict."""
    if not found:
        return []
    return [dbc.Badge(f"verdict: {LABELS.get(found['status'], found['status'])}", id=RUN_FIT_BADGE,
                      color=COLORS.get(found["status"], "secondary"), className="ms-1")]


def _light(check: dict[str, Any]) -> dbc.Col:
    status = check["status"]
    return dbc.Col(dbc.Card(dbc.CardBody([
        html.Div([dbc.Badge(status.replace("_", " "), color=COLORS.get(status, "secondary"), className="me-2"),
                  html.B(check["name"])]),
        html.Div(check["reason"], className="small text-muted mt-1"),
    ]), color=COLORS.get(status, "secondary"), outline=True, className="h-100",
        id={"type": "run-light-card", "index": check["name"]}), md=4)


def lights(found: dict[str, Any] | None) -> list:
    """One card per check, grey when not measured; the overall status above them."""
    if not found:
        return []
    status = found["status"]
    return [dbc.Alert([html.B(f"Verdict: {LABELS.get(status, status)} ({status})")], color=COLORS.get(status),
                      className="mb-2", id="run-verdict-alert"),
            dbc.Row([_light(c) for c in found.get("checks") or []], className="g-2 mb-3", id=RUN_LIGHTS_ROW)]


def badge(run: dict[str, Any]) -> list:
    """``gates passed`` / ``gates failed`` for the user's own thresholds; the default set is in the verdict's lights."""
    gates = run.get("gates")
    if not gates or gates.get("source") == "default":
        return []
    passed = bool(gates.get("passed"))
    return [dbc.Badge("gates passed" if passed else "gates failed", color="success" if passed else "danger",
                      id=RUN_VERDICT_BADGE, className="ms-1")]


def _value(value: Any) -> str:
    return "not measured" if value is None else f"{value:.4g}"


def panel(gates: dict[str, Any] | None) -> list:
    """The user's gates, one row per check: metric, bound, measured value, pass or fail."""
    if not gates or gates.get("source") == "default":
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
