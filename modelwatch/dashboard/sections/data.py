"""Data tab: the schema the run generated its data from."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc


def render(schema: dict[str, Any] | None, run: dict[str, Any]) -> list:
    if not schema:
        return [dbc.Alert("No schema recorded.", color="secondary")]
    header = ["feature", "type", "distribution", "min", "max", "categories", "missing rate"]
    rows = [
        [f["name"], f["type"], (f.get("distribution") or {}).get("kind", ""), f.get("min", ""), f.get("max", ""),
         ", ".join(map(str, f.get("categories") or []))[:80], f.get("missing_rate", 0)]
        for f in schema["features"]
    ]
    table = dbc.Table.from_dataframe(_frame(header, rows), striped=True, bordered=False, size="sm")
    return [table]


def _frame(header: list[str], rows: list[list[Any]]):
    import pandas as pd

    return pd.DataFrame(rows, columns=header)
