"""The settings a run used, as a compact table beside its figures (as MLflow shows params before metrics)."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

RUN_PARAMS_TABLE = "run-params-table"


def _list(values: Any) -> str:
    return ", ".join(map(str, values)) if isinstance(values, list) else str(values)


def _bounds(rule: dict[str, Any]) -> str:
    return " and ".join(f"{'≥' if op == 'min' else '≤'} {rule[op]:g}" for op in ("min", "max") if op in rule)


def params(settings: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, value) rows of a run's settings (``services.run_views.settings``)."""
    config = settings.get("config") or {}
    drift, explain = config.get("drift") or {}, config.get("explain") or {}
    rows = [
        ("sample (reference CSV)", "yes" if settings.get("sample") else "no"),
        ("current data CSV", "yes" if settings.get("current") else "no"),
        ("label column", settings.get("target") or "—"),
        ("rows generated", str(config.get("n_samples"))), ("seed", str(config.get("seed"))),
        ("generator", str(config.get("generator"))), ("batch sizes", _list(config.get("batch_sizes") or [])),
        ("drift features", _list(drift.get("features", "all"))), ("drift kinds", _list(drift.get("kinds") or [])),
        ("drift severities", _list(drift.get("severities") or [])),
        ("rows explained", str(explain.get("max_samples"))), ("time limit", f"{config.get('timeout_s')} s"),
    ]
    thresholds = config.get("thresholds") or {}
    rows += [(f"gate {path}", _bounds(rule)) for path, rule in thresholds.items()] or [("gates", "the defaults")]
    return rows


def table(settings: dict[str, Any] | None) -> list:
    if not settings:
        return []
    body = [html.Tr([html.Td(name, className="text-muted"), html.Td(html.Code(value))])
            for name, value in params(settings)]
    return [html.Details([html.Summary("Settings of this run", className="h6"),
                          dbc.Table(html.Tbody(body), size="sm", borderless=True, id=RUN_PARAMS_TABLE,
                                    className="w-auto")], open=True, className="mb-3")]
