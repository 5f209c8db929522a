"""Models: every registered model with its versions and its champion."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from modelwatch.services import registry

dash.register_page(__name__, path="/models", name="Models", order=5, title="Models · modelwatch")

MODELS_TABLE_DIV = "models-table-div"


def models_table(models: list[dict]) -> dbc.Table:
    rows = [html.Tr([html.Td(dcc.Link(m["name"], href=f"/models/{m['name']}")), html.Td(len(m["versions"])),
                     html.Td(f"v{m['champion']['version']} ({m['champion']['chosen_by']})" if m["champion"] else "–"),
                     html.Td(m["owner"] or "–"), html.Td(m["description"] or "")]) for m in models]
    header = html.Thead(html.Tr([html.Th(h) for h in ("model", "versions", "champion", "owner", "description")]))
    return dbc.Table([header, html.Tbody(rows)], striped=True, size="sm", hover=True, id=MODELS_TABLE_DIV)


def layout(**_kwargs) -> html.Div:
    models = [registry.model_dict(m, with_runs=False) for m in registry.list_models()]
    return html.Div([
        html.H2("Models"),
        html.P("A model is registered on its first upload under a name (POST /run_tests with name); each new "
               "file under that name is a version.", className="text-muted"),
        models_table(models) if models else html.P("No registered model yet.", className="text-muted"),
    ])
