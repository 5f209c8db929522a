"""Performance figures: latency per batch size (percentiles and distribution), throughput, error breakdown."""
from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go

from modelwatch.figures.common import BASE_LAYOUT, empty_figure, style_figure
from modelwatch.figures.format import percent

HEIGHT = 360
LAYOUT = {**BASE_LAYOUT, "height": HEIGHT}


def _sizes(mapping: dict[str, Any] | None) -> list[str]:
    return sorted(mapping or {}, key=int)


_empty = partial(empty_figure, layout=LAYOUT)  # a placeholder chart with this module's layout


def latency_figure(performance: dict[str, Any]) -> go.Figure:
    """p50 / p95 / p99 latency (ms) per batch size, as grouped bars."""
    latency = performance.get("latency_ms") or {}
    sizes = _sizes(latency)
    fig = go.Figure([
        go.Bar(name=stat, x=sizes, y=[latency[s][stat] for s in sizes]) for stat in ("p50", "p95", "p99")
    ])
    return style_figure(fig, "Latency per call", "batch size (rows)", "latency per call (ms)", height=HEIGHT,
                        barmode="group", xaxis_type="category")


def latency_distribution_figure(performance: dict[str, Any]) -> go.Figure:
    """The distribution of per-call latency at each batch size (box plots over the 101 recorded quantiles)."""
    quantiles = performance.get("latency_quantiles_ms") or {}
    latency = performance.get("latency_ms") or {}
    if not quantiles and not latency:
        return _empty("Latency distribution", "no latency was measured")
    fig = go.Figure()
    for size in _sizes(quantiles or latency):
        # equally spaced quantiles are an equal-weight sample of the timings: a faithful box
        values = quantiles.get(size) or [latency[size][k] for k in ("p50", "p95", "p99", "max")]
        n_calls = latency.get(size, {}).get("n_calls")
        fig.add_trace(go.Box(y=values, name=f"{int(size):,} row{'' if int(size) == 1 else 's'}", boxpoints=False,
                             hovertemplate=f"batch {size}<br>%{{y:,.3~r}} ms<extra>{n_calls} calls</extra>"))
    return style_figure(fig, "Latency per call, by batch size", "batch size", "latency per call (ms, log scale)",
                        height=HEIGHT, yaxis_type="log", showlegend=False)


def throughput_figure(performance: dict[str, Any]) -> go.Figure:
    """Rows per second against the batch size (log-log)."""
    throughput = performance.get("throughput_rows_per_s") or {}
    if not throughput:
        return _empty("Throughput", "no throughput was measured")
    sizes = _sizes(throughput)
    fig = go.Figure(go.Scatter(x=[int(s) for s in sizes], y=[throughput[s] for s in sizes], mode="lines+markers",
                               hovertemplate="batch %{x:,}<br>%{y:,.3~r} rows/s<extra></extra>"))
    style_figure(fig, "Throughput against batch size", "batch size (rows)", "rows per second", height=HEIGHT,
                 xaxis_type="log", yaxis_type="log", showlegend=False)
    fig.update_xaxes(tickvals=[int(s) for s in sizes], ticktext=[f"{int(s):,}" for s in sizes])
    return fig


def error_breakdown_figure(performance: dict[str, Any]) -> go.Figure:
    """Failing rows per error type (exceptions and invalid outputs)."""
    errors = sorted(performance.get("errors") or [], key=lambda e: e["count"])
    checked = (performance.get("error_scan") or {}).get("rows_checked")
    if not errors:
        return _empty("Errors", f"no row failed{f' out of {checked:,}' if checked else ''}")
    fig = go.Figure(go.Bar(x=[e["count"] for e in errors], y=[e["type"] for e in errors], orientation="h",
                           text=[e["message"][:80] for e in errors], textposition="auto",
                           marker_color="#d62728", hovertemplate="%{y}: %{x} rows<extra></extra>"))
    rate = performance.get("error_rate", 0.0)
    return style_figure(fig, f"Failing rows by error type (error rate {percent(rate)})", "rows", "error type",
                        height=HEIGHT)


def performance_figures(performance: dict[str, Any]) -> list[tuple[str, go.Figure]]:
    """Every performance figure with a name, for the run page and the HTML export."""
    return [("latency_distribution", latency_distribution_figure(performance)),
            ("latency_percentiles", latency_figure(performance)),
            ("throughput", throughput_figure(performance)),
            ("errors", error_breakdown_figure(performance))]
