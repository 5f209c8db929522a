"""Performance figures: latency per batch size (percentiles and distribution), throughput, error breakdown."""
from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go

from modelwatch.figures.common import BASE_LAYOUT, empty_figure, style_figure
from modelwatch.figures.format import number, percent

HEIGHT = 360
LAYOUT = {**BASE_LAYOUT, "height": HEIGHT}


def _sizes(mapping: dict[str, Any] | None) -> list[str]:
    return sorted(mapping or {}, key=int)


_empty = partial(empty_figure, layout=LAYOUT)  # a placeholder chart with this module's layout


STOPPED_BY = {"precision": "precision reached", "budget": "budget spent", "calls": "call limit"}
INTERVAL_STATS = ("p50", "p95")  # the timed quantiles: each has its 95% interval (``p50_ci``, ``p95_ci``)


def known_to(precision: Any) -> str:
    """A latency's precision as a reader takes it ("±4.8%"): the wider relative half-width of its p50 and p95
    intervals (None: too few calls to bound them)."""
    return "precision unknown: too few calls" if precision is None else f"±{percent(precision, 2)}"


def interval_text(stats: dict[str, Any], stat: str) -> str:
    """The 95% interval of ``stat`` (``p50`` or ``p95``) in ms, or why there is none."""
    interval = stats.get(f"{stat}_ci")
    return "no interval (too few calls)" if interval is None else f"{number(interval[0])}–{number(interval[1])}"


def _bar(latency: dict[str, Any], sizes: list[str], stat: str) -> go.Bar:
    """One percentile's bars; the timed quantiles carry their 95% intervals as error bars and in the hover."""
    values = [latency[s][stat] for s in sizes]
    bar = go.Bar(name=stat, x=sizes, y=values, hovertemplate=f"batch %{{x}}<br>{stat} %{{y:,.3~r}} ms<extra></extra>")
    intervals = [latency[s].get(f"{stat}_ci") for s in sizes]
    if stat in INTERVAL_STATS and any(intervals):
        bar.error_y = {"type": "data", "symmetric": False, "color": "#444",
                       "array": [ci[1] - v if ci else None for ci, v in zip(intervals, values)],
                       "arrayminus": [v - ci[0] if ci else None for ci, v in zip(intervals, values)]}
        bar.hovertext = [f"95% interval {interval_text(latency[s], stat)} ms" if ci else interval_text(latency[s], stat)
                         for s, ci in zip(sizes, intervals)]
        bar.hovertemplate = f"batch %{{x}}<br>{stat} %{{y:,.3~r}} ms<br>%{{hovertext}}<extra></extra>"
    return bar


def latency_figure(performance: dict[str, Any]) -> go.Figure:
    """p50 / p95 / p99 latency (ms) per batch size, as grouped bars; p50 and p95 with their 95% intervals."""
    latency = performance.get("latency_ms") or {}
    sizes = _sizes(latency)
    fig = go.Figure([_bar(latency, sizes, stat) for stat in ("p50", "p95", "p99")])
    intervals = any(latency[s].get(f"{stat}_ci") for s in sizes for stat in INTERVAL_STATS)
    title = "Latency per call" + (" (p50 and p95 with their 95% intervals)" if intervals else "")
    return style_figure(fig, title, "batch size (rows)", "latency per call (ms)", height=HEIGHT,
                        barmode="group", xaxis_type="category")


def stopped_text(stats: dict[str, Any]) -> str:
    """What ended a batch size's timing, in words ("budget spent"); empty for results without it."""
    return STOPPED_BY.get(stats.get("stopped_by"), stats.get("stopped_by") or "")


def _stopped_short(size: str, stats: dict[str, Any]) -> str:
    """"100 rows stopped at ±8.1% (budget spent)": a batch size that did not reach the precision asked for."""
    precision = stats.get("precision")
    reached = "before its intervals could be bounded" if precision is None else f"at {known_to(precision)}"
    return f"{int(size):,} row{'' if int(size) == 1 else 's'} stopped {reached} ({stopped_text(stats)})"


def latency_note(performance: dict[str, Any]) -> str:
    """How latency was timed, in a sentence: the stopping rule and every batch size that did not reach it.

    Empty for results stored before timing stopped on a precision (no ``stopped_by``).
    """
    latency = performance.get("latency_ms") or {}
    budget = performance.get("latency_budget") or {}
    sizes = [s for s in _sizes(latency) if "stopped_by" in latency[s]]
    if not sizes:
        return ""
    target, per_size = budget.get("precision_target"), budget.get("per_batch_size_s")
    spend = f"its {number(per_size)} s budget was spent" if per_size is not None else "its budget was spent"
    rule = (f"until both were known to {known_to(target)} or {spend}" if target is not None
            else f"until {spend}")
    short = [_stopped_short(s, latency[s]) for s in sizes if latency[s]["stopped_by"] != "precision"]
    outcome = "; ".join(short) if short else f"every batch size reached {known_to(target)}"
    took = f" Timing took {number(budget['seconds'])} s, with nothing else running." if "seconds" in budget else ""
    return (f"p50 and p95 come with 95% distribution-free intervals (order statistics of the timed calls). Each "
            f"batch size was timed {rule}: {outcome}.{took}")


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
