"""Performance tab: headline cards, latency distribution and percentiles, throughput, and the errors found."""
from __future__ import annotations

import json
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from modelwatch.dashboard.sections import skipped
from modelwatch.figures.format import GRAPH_CONFIG, bytes_, number
from modelwatch.figures.performance import (
    INTERVAL_STATS,
    error_breakdown_figure,
    interval_text,
    known_to,
    latency_distribution_figure,
    latency_figure,
    latency_note,
    stopped_text,
    throughput_figure,
)


def _card(title: str, value: str, hint: str = "") -> dbc.Col:
    body = [html.Div(title, className="text-muted small"), html.H5(value, className="mb-0")]
    if hint:
        body.append(html.Div(hint, className="text-muted small"))
    return dbc.Col(dbc.Card(dbc.CardBody(body)), md=3)


def _latency_cell(stats: dict[str, Any], stat: str) -> html.Td:
    """A percentile, with its 95% interval beneath it where it has one."""
    if stat not in INTERVAL_STATS or "stopped_by" not in stats:
        return html.Td(number(stats[stat]))
    return html.Td([number(stats[stat]), html.Div(interval_text(stats, stat), className="text-muted small")])


def _latency_table(section: dict[str, Any]) -> list:
    """Percentiles per batch size, with the intervals, the precision reached and what stopped the timing."""
    latency, throughput = section.get("latency_ms") or {}, section.get("throughput_rows_per_s") or {}
    sizes = sorted(latency, key=int)
    timed = any("stopped_by" in latency[size] for size in sizes)  # results stored before adaptive timing: none
    extra = ("known to", "stopped by") if timed else ()
    header = html.Thead(html.Tr([html.Th(h) for h in ("batch", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms",
                                                      "calls", *extra, "rows/s")]))
    rows = []
    for size in sizes:
        stats = latency[size]
        known = [html.Td(known_to(stats.get("precision"))), html.Td(stopped_text(stats))] if timed else []
        rows.append(html.Tr([html.Td(size), *(_latency_cell(stats, k) for k in ("p50", "p95", "p99", "max", "mean")),
                             html.Td(stats["n_calls"]), *known, html.Td(number(throughput.get(size, 0)))]))
    note = latency_note(section)
    return [dbc.Table([header, html.Tbody(rows)], size="sm", striped=True, className="mt-2", id="run-latency-table"),
            *([html.P(note, className="text-muted small", id="run-latency-note")] if note else [])]


def _errors(section: dict[str, Any]) -> list:
    errors = section.get("errors") or []
    if not errors:
        return []
    items = [dbc.ListGroupItem([
        html.Strong(f"{e['type']} · {e['count']} rows"), html.Div(e["message"], className="small"),
        html.Details([html.Summary("example row", className="small"),
                      html.Pre(json.dumps(e.get("example"), indent=1)[:4000], className="small bg-light p-2")]),
    ]) for e in errors]
    return [dbc.ListGroup(items, className="mb-3")]


def render(section: dict[str, Any] | None, run: dict[str, Any]) -> list:
    """The performance section as cards, graphs and tables."""
    alert = skipped(section)
    if alert:
        return alert
    memory = section.get("memory") or {}
    scan = section.get("error_scan") or {}
    rate = section.get("error_rate", 0.0)
    cards = dbc.Row([
        _card("load time", number(section.get("load_time_ms", 0), unit="ms")),
        _card("model size", bytes_(section.get("model_size_bytes", 0))),
        _card("peak memory during predict", number(section.get("peak_memory_mb", 0), unit="MB"),
              f"+{memory['predict_increase_mb']:.1f} MB over the baseline" if memory else ""),
        _card("error rate", f"{rate:.2%}",
              f"of {scan['rows_checked']:,} rows{'' if scan.get('exact', True) else ' (estimate)'}" if scan else ""),
    ], className="g-3 mb-3")
    parts: list = [cards]
    for size, why in (section.get("latency_failures") or {}).items():
        parts.append(dbc.Alert(f"Batch size {size} could not be timed: {why}", color="warning"))
    parts += [
        dbc.Row([dbc.Col(dcc.Graph(figure=latency_distribution_figure(section), id="run-latency-dist-graph",
                                   config=GRAPH_CONFIG), md=6),
                 dbc.Col(dcc.Graph(figure=throughput_figure(section), id="run-throughput-graph",
                                   config=GRAPH_CONFIG), md=6)]),
        dcc.Graph(figure=latency_figure(section), id="run-latency-graph", config=GRAPH_CONFIG),
        *_latency_table(section),
    ]
    if section.get("errors"):
        parts += [dcc.Graph(figure=error_breakdown_figure(section), id="run-errors-graph", config=GRAPH_CONFIG),
                  *_errors(section)]
    else:
        checked = f" ({scan['rows_checked']:,} rows checked)" if scan.get("rows_checked") else ""
        parts.append(dbc.Alert(f"No generated row made the model fail or answer with an invalid output{checked}.",
                               color="success", id="run-errors-alert"))
    if memory:
        parts.append(html.P(f"Memory: {memory.get('method')}.", className="text-muted small"))
    return parts
