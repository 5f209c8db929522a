"""Data tab: the schema the run generated its data from."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

HEADER = ("feature", "type", "distribution", "min", "max", "categories", "missing rate")


def _row(feature: dict[str, Any]) -> list[Any]:
    categories = ", ".join(map(str, feature.get("categories") or []))
    return [feature["name"], feature["type"], (feature.get("distribution") or {}).get("kind", ""),
            feature.get("min", ""), feature.get("max", ""), categories[:80], feature.get("missing_rate", 0)]


def render(schema: dict[str, Any] | None, run: dict[str, Any]) -> list:
    if not schema:
        return [dbc.Alert("No schema recorded.", color="secondary")]
    head = html.Thead(html.Tr([html.Th(name) for name in HEADER]))
    body = html.Tbody([html.Tr([html.Td(str(cell)) for cell in _row(f)]) for f in schema["features"]])
    return [dbc.Table([head, body], striped=True, bordered=False, size="sm", id="run-data-schema-table")]
