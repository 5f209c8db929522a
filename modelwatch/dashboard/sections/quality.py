"""Quality tab: metrics with their 95% intervals beside the baseline's, then the task's figures; the same for
``current``."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from modelwatch.dashboard.sections import skipped
from modelwatch.figures.quality import quality_figures


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


def _metrics_table(block: dict[str, Any], current: dict[str, Any] | None) -> dbc.Table:
    ci = block.get("ci") or {}
    baseline = (block.get("baseline") or {}).get("metrics")
    heads = ["metric", "value", "95% interval"] + (["baseline"] if baseline else []) + (["current"] if current else [])
    rows = []
    for name, value in (block.get("metrics") or {}).items():
        interval = ci.get(name)
        cells = [html.Td(name), html.Td(_fmt(value)),
                 html.Td(f"{interval[0]:.4f} – {interval[1]:.4f}" if interval else "")]
        if baseline:
            cells.append(html.Td(_fmt(baseline.get(name)), className="text-muted"))
        if current:
            other = (current.get("metrics") or {}).get(name)
            cells.append(html.Td("—" if other is None else f"{other:.4f}"))
        rows.append(html.Tr(cells))
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in heads])), html.Tbody(rows)], size="sm",
                     striped=True, id="run-quality-table")


def _per_class(block: dict[str, Any]) -> list:
    per_class = block.get("per_class") or {}
    if not per_class:
        return []
    header = html.Thead(html.Tr([html.Th(h) for h in ("class", "precision", "recall", "f1", "support")]))
    rows = [html.Tr([html.Td(label)] + [html.Td(f"{s[k]:.3f}") for k in ("precision", "recall", "f1")]
                    + [html.Td(s["support"])]) for label, s in per_class.items()]
    return [html.H6("Per class"), dbc.Table([header, html.Tbody(rows)], size="sm", striped=True)]


def _graphs(block: dict[str, Any], prefix: str) -> dbc.Row:
    return dbc.Row([dbc.Col(dcc.Graph(figure=fig, id=f"run-{prefix}-{name.replace('_', '-')}-graph"), md=6)
                    for name, fig in quality_figures(block)])


def _baseline_note(block: dict[str, Any]) -> list:
    baseline = block.get("baseline")
    if not baseline:
        return []
    what = "always predicting the mean" if block.get("task") == "regression" else \
        "always predicting the majority class (class shares as probabilities)"
    return [html.P(f"Baseline: {what}, fitted and scored on the same rows. The verdict asks the model to beat it by "
                   "a margin.", className="small text-muted", id="run-quality-baseline-note")]


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The quality section, or a note that it needs labelled data."""
    alert = skipped(section)
    if alert:
        return alert
    current = section.get("current")
    where = section.get("evaluated_on", "sample")
    parts: list = [html.P(f"{section['task']} · {section['n_rows']:,} labelled rows of {where}"
                          + (f" · {section['dropped_rows']} rows without a usable label left out"
                             if section.get("dropped_rows") else ""), className="text-muted"),
                   *_baseline_note(section), _metrics_table(section, current), *_per_class(section),
                   _graphs(section, "quality")]
    if current:
        parts += [html.H5(f"On current ({current['n_rows']:,} labelled rows)", className="mt-4"),
                  _graphs(current, "quality-current")]
    return parts
