"""Drift figures: distributions overlaid, impact heatmap, severity-to-impact curves, detection tables."""
from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go

from modelwatch.figures.common import empty_figure
from modelwatch.figures.drift_overview import column_rows, scenario_families, sort_rows
from modelwatch.figures.drift_overview import label as family_label
from modelwatch.figures.format import number, percent, percent_interval

LAYOUT = {"template": "plotly_white", "height": 380, "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}
COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")  # Okabe-Ito
TOP_FAMILIES = 12  # scenario families (feature · kind) in the heatmap, the most impactful first


_empty = partial(empty_figure, layout=LAYOUT)  # a placeholder chart with this module's layout


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "drift" if value else "no drift"
    return number(value) if isinstance(value, (int, float)) or value is None else str(value)


def _label(scenario: dict[str, Any]) -> str:
    return family_label(scenario["feature"], scenario["kind"])


def _add_shares(fig: go.Figure, dist: dict[str, Any]) -> None:
    """One trace per series of a binned column (``{"kind", "edges" | "categories", "counts": {name: [...]}}``),
    as shares of its non-missing rows: step lines for numbers (the reference filled), grouped bars otherwise."""
    for i, (name, counts) in enumerate(dist["counts"].items()):
        total = sum(counts) or 1
        shares = [c / total for c in counts]
        color = COLORS[i % len(COLORS)]
        if dist["kind"] == "numeric":
            edges = dist["edges"]
            centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
            fig.add_trace(go.Scatter(x=centres, y=shares, mode="lines", line_shape="hvh", name=name,
                                     line={"color": color, "width": 3 if name == "reference" else 1.5},
                                     fill="tozeroy" if name == "reference" else None,
                                     hovertemplate=f"{name}: %{{y:.1%}} near %{{x:,.4~g}}<extra></extra>"))
        else:
            fig.add_trace(go.Bar(x=dist["categories"], y=shares, name=name, marker_color=color,
                                 hovertemplate=f"{name}: %{{y:.1%}} at %{{x}}<extra></extra>"))


def distribution_figure(drift: dict[str, Any], feature: str) -> go.Figure:
    """Reference, drifted (each kind at its largest severity) and current shares of one feature, overlaid."""
    dist = (drift.get("distributions") or {}).get(feature)
    title = f"{feature}: reference vs drifted"
    if not dist:
        return _empty(title, "no distribution recorded")
    fig = go.Figure()
    _add_shares(fig, dist)
    fig.update_layout(title=title, xaxis_title=feature, yaxis_title="share of non-missing rows", barmode="group",
                      yaxis_tickformat=".0%", **LAYOUT)
    return fig


def column_figure(feature: str, histogram: dict[str, Any] | None) -> go.Figure:
    """A column's reference against current (or its most drifted scenario) shares: the Drift tab's row plot."""
    title = f"{feature}: reference vs {'current' if 'current' in (histogram or {}).get('counts', {}) else 'drifted'}"
    if not histogram or not histogram.get("counts"):
        return _empty(title, "no distribution recorded for this column")
    fig = go.Figure()
    _add_shares(fig, histogram)
    fig.update_layout(title=title, xaxis_title=feature, yaxis_title="share of rows", yaxis_tickformat=".0%",
                      barmode="group", legend={"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02,
                                               "yanchor": "bottom"},
                      **{**LAYOUT, "height": 260, "margin": {"l": 60, "r": 20, "t": 60, "b": 45}})
    return fig


def impact_heatmap(drift: dict[str, Any], top: int = TOP_FAMILIES) -> go.Figure:
    """The ``top`` most impactful scenario families (feature · kind) against severity, coloured by impact."""
    ranked = [f["label"] for f in scenario_families(drift) if f["max_impact"] is not None][:top]
    scenarios = [s for s in drift.get("scenarios") or [] if s.get("impact") is not None and _label(s) in ranked]
    if not scenarios:
        return _empty("Impact by severity", "no scenario reached the model")
    rows = ranked[::-1]  # the most impactful at the top
    cols = sorted({s["severity"] for s in scenarios})
    z = [[None] * len(cols) for _ in rows]
    for s in scenarios:
        z[rows.index(_label(s))][cols.index(s["severity"])] = s["impact"]
    fig = go.Figure(go.Heatmap(z=z, x=[number(c) for c in cols], y=rows, colorscale="Oranges",
                               colorbar_title="impact",
                               hovertemplate="%{y}, severity %{x}: impact %{z:.3~g}<extra></extra>"))
    measure = drift.get("impact_measure", "impact")
    fig.update_layout(title=f"Impact by severity, top {len(rows)} scenarios ({measure})", xaxis_title="severity",
                      xaxis_type="category", yaxis_title="scenario",
                      **{**LAYOUT, "height": max(300, 60 + 22 * len(rows)), "margin": {**LAYOUT["margin"], "l": 200}})
    return fig


def severity_curves(drift: dict[str, Any], top: int = 8) -> go.Figure:
    """Impact against severity per scenario family (the ``top`` most impactful), breaking points marked."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for s in drift.get("scenarios") or []:
        if s.get("impact") is not None:
            groups.setdefault(_label(s), []).append(s)
    if not groups:
        return _empty("Severity to impact", "no scenario reached the model")
    ranked = sorted(groups, key=lambda k: max(s["impact"] for s in groups[k]), reverse=True)[:top]
    breaks = {family_label(b["feature"], b["kind"]): b["severity"]
              for b in drift.get("breaking_points") or [] if b.get("severity") is not None}
    fig = go.Figure()
    for i, label in enumerate(ranked):
        points = sorted(groups[label], key=lambda s: s["severity"])
        color = COLORS[i % len(COLORS)]
        fig.add_trace(go.Scatter(x=[0.0] + [s["severity"] for s in points], y=[0.0] + [s["impact"] for s in points],
                                 mode="lines+markers", name=label, line={"color": color}))
        if label in breaks:
            hit = next(s for s in points if s["severity"] == breaks[label])
            fig.add_trace(go.Scatter(x=[hit["severity"]], y=[hit["impact"]], mode="markers", showlegend=False,
                                     marker={"symbol": "x", "size": 14, "color": color, "line": {"width": 2}},
                                     hovertemplate=f"{label}: breaks at severity %{{x}}<extra></extra>"))
    fig.update_layout(title="Severity to impact (x: breaking point)", xaxis_title="severity (units: see the legend)",
                      yaxis_title=drift.get("impact_measure", "impact"),
                      legend={"orientation": "h", "x": 0, "y": -0.2, "yanchor": "top"},
                      **{**LAYOUT, "height": 460, "margin": {**LAYOUT["margin"], "b": 40}})
    return fig


def drift_note(drift: dict[str, Any]) -> str:
    """The reference the section compared against, how well its false-positive rate and powers are known, and
    whether the time budget cut the scenarios short."""
    fpr = drift.get("false_positive_rate") or {}
    features = len(fpr.get("per_feature") or {})
    interval = (f" (95% interval {percent_interval(fpr['overall_ci'])}, from {number(fpr.get('n_resamples', 0))} "
                f"resamples of each of {features} feature{'' if features == 1 else 's'})"
                if fpr.get("overall_ci") else "")
    resamples = (drift.get("budget") or {}).get("power_resamples")
    powers = (f" Detection powers are shares of {number(resamples)} resamples each, with their 95% intervals beside "
              "them." if resamples else "")
    return (f"Reference: {drift.get('reference', '?')} data, {number(drift.get('n_reference', 0))} rows. "
            f"False-positive rate of the tests at severity 0: {percent(fpr.get('overall'))}{interval}.{powers}"
            + (" Stopped early: time budget." if drift.get("truncated") else ""))


def _power(scenario: dict[str, Any]) -> str:
    """A detection power with its 95% interval ("85% (62–97%)"): it is a share of a few resamples."""
    interval = scenario.get("power_ci")
    return percent(scenario.get("power")) + (f" ({percent_interval(interval)})" if interval else "")


def detection_table(drift: dict[str, Any]) -> go.Figure:
    """Every scenario: test, statistic, p-value, verdict, power and impact."""
    scenarios = drift.get("scenarios") or []
    if not scenarios:
        return _empty("Detection", "no scenarios")
    header = ["feature", "kind", "severity", "test", "statistic", "p-value", "verdict", "power", "flip rate",
              "pred. shift", "error"]
    cells = [[_fmt(s["feature"] if s["feature"] is not None else "all") for s in scenarios],
             [s["kind"] for s in scenarios], [_fmt(s["severity"]) for s in scenarios],
             [_fmt(s.get("test")) for s in scenarios], [_fmt(s.get("statistic")) for s in scenarios],
             [_fmt(s.get("p_value")) for s in scenarios], [_fmt(bool(s.get("drift_detected"))) for s in scenarios],
             [_power(s) for s in scenarios], [percent(s.get("flip_rate")) for s in scenarios],
             [_fmt(s.get("prediction_shift")) for s in scenarios], [(s.get("error") or "")[:40] for s in scenarios]]
    fill = [["#fde2e1" if s.get("drift_detected") else "white" for s in scenarios]] * len(header)
    fig = go.Figure(go.Table(columnwidth=[2, 2, 1, 2, 2, 2, 2, 1, 1, 2, 4],
                             header={"values": header, "fill_color": "#eef"},
                             cells={"values": cells, "fill_color": fill, "align": "left"}))
    fig.update_layout(title="Detection per scenario", **{**LAYOUT, "height": min(1200, 140 + 30 * len(scenarios))})
    return fig


def current_table(drift: dict[str, Any]) -> go.Figure:
    """Real current data against the reference: each column's test, statistic, p-value and verdict."""
    current = drift.get("current")
    if not current:
        return _empty("Current data", "no current data was uploaded")
    cols = current["columns"]
    header = ["feature", "test", "statistic", "p-value", "threshold", "verdict", "why this test"]
    cells = [[c["feature"] for c in cols], [_fmt(c.get("test")) for c in cols],
             [_fmt(c.get("statistic")) for c in cols], [_fmt(c.get("p_value")) for c in cols],
             [_fmt(c.get("threshold")) for c in cols], [_fmt(bool(c.get("drift_detected"))) for c in cols],
             [c.get("reason", "") for c in cols]]
    fill = [["#fde2e1" if c.get("drift_detected") else "white" for c in cols]] * len(header)
    fig = go.Figure(go.Table(columnwidth=[2, 2, 2, 2, 1, 1, 6], header={"values": header, "fill_color": "#eef"},
                             cells={"values": cells, "fill_color": fill, "align": "left"}))
    verdict = "dataset drift" if current.get("dataset_drift") else "no dataset drift"
    fig.update_layout(title=f"Current data: {percent(current['share_drifted'])} of columns drifted ({verdict})",
                      **{**LAYOUT, "height": min(1200, 160 + 48 * len(cols))})
    return fig


def drift_figures(drift: dict[str, Any], n_features: int = 4) -> list[tuple[str, go.Figure]]:
    """The section's figures in page order, with the distributions of the most drifted columns (of the most
    sensitive ones without current data)."""
    figures = [("current", current_table(drift))] if drift.get("current") else []
    figures += [("heatmap", impact_heatmap(drift)), ("curves", severity_curves(drift)),
                ("detection", detection_table(drift))]
    rows = sort_rows(column_rows(drift), "drift" if drift.get("current") else "impact")
    ranked = [r["feature"] for r in rows if r["feature"] in (drift.get("distributions") or {})]
    figures += [(f"distribution-{i}", distribution_figure(drift, f)) for i, f in enumerate(ranked[:n_features])]
    return figures
