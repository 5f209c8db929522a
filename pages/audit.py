"""Audit (admins): who created, deleted, cancelled or tagged runs, managed tokens and users, signed in."""
from __future__ import annotations

import json

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, callback, html

from modelwatch.auth.permissions import ADMIN
from modelwatch.dashboard.access import can
from modelwatch.services import audit

dash.register_page(__name__, path="/audit", name="Audit", order=9, title="Audit · modelwatch", permission=ADMIN)

AUDIT_TABLE_DIV = "audit-table-div"
AUDIT_REFRESH_BUTTON = "audit-refresh-button"
SHOWN = 200


def layout(**_kwargs) -> html.Div:
    if not can(ADMIN):
        return dbc.Alert("Only admins read the audit trail.", color="secondary", id="audit-forbidden-alert")
    return html.Div([
        html.H2("Audit trail"),
        dbc.Button("Refresh", id=AUDIT_REFRESH_BUTTON, color="secondary", size="sm", className="mb-2"),
        html.Div(id=AUDIT_TABLE_DIV),
    ])


@callback(Output(AUDIT_TABLE_DIV, "children"), Input(AUDIT_REFRESH_BUTTON, "n_clicks"))
def refresh(_clicks):
    events, total = audit.list_events(limit=SHOWN)
    rows = [html.Tr([html.Td(e["at"].strftime("%Y-%m-%d %H:%M:%S")), html.Td(e["actor"]), html.Td(e["action"]),
                     html.Td(e["target"]), html.Td(json.dumps(e["details"], default=str) if e["details"] else "")])
            for e in events]
    table = dbc.Table([html.Thead(html.Tr([html.Th(h) for h in ("when (UTC)", "who", "what", "target",
                                                                  "details")])), html.Tbody(rows)],
                      size="sm", striped=True, className="small")
    return [html.Div(f"{min(total, SHOWN)} of {total} events, newest first.", className="text-muted small"), table]
