"""Drift figures: distributions overlaid, impact heatmap, severity-to-impact curves, detection tables."""
from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go

from modelwatch.figures.common import empty_figure

LAYOUT = {"template": "plotly_white", "height": 380, "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}
COLORS = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692")


_empty = partial(empty_figure, layout=LAYOUT)  # a placeholder chart with this module's layout


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "drift" if value else "no drift"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _label(scenario: dict[str, Any]) -> str:
    return f"{scenario['feature'] if scenario['feature'] is not None else 'all features'} · {scenario['kind']}"


def distribution_figure(drift: dict[str, Any], feature: str) -> go.Figure:
    """Reference, drifted (each kind at its largest severity) and current shares of one feature, overlaid."""
    dist = (drift.get("distributions") or {}).get(feature)
    title = f"{feature}: reference vs drifted"
    if not dist:
        return _empty(title, "no distribution recorded")
    fig = go.Figure()
    for i, (name, counts) in enumerate(dist["counts"].items()):
        total = sum(counts) or 1
        shares = [c / total for c in counts]
        color = COLORS[i % len(COLORS)]
        if dist["kind"] == "numeric":
            edges = dist["edges"]
            centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:])]
            fig.add_trace(go.Scatter(x=centres, y=shares, mode="lines", line_shape="hvh", name=name,
                                     line={"color": color, "width": 3 if name == "reference" else 1.5},
                                     fill="tozeroy" if name == "reference" else None))
        else:
            fig.add_trace(go.Bar(x=dist["categories"], y=shares, name=name, marker_color=color))
    fig.update_layout(title=title, yaxis_title="share of non-missing rows", barmode="group", **LAYOUT)
    return fig


def impact_heatmap(drift: dict[str, Any]) -> go.Figure:
    """Scenarios (feature · kind) against severity, coloured by impact on the predictions."""
    scenarios = [s for s in drift.get("scenarios") or [] if s.get("impact") is not None]
    if not scenarios:
        return _empty("Impact by severity", "no scenario reached the model")
    rows = sorted({_label(s) for s in scenarios})
    cols = sorted({s["severity"] for s in scenarios})
    z = [[None] * len(cols) for _ in rows]
    for s in scenarios:
        z[rows.index(_label(s))][cols.index(s["severity"])] = s["impact"]
    fig = go.Figure(go.Heatmap(z=z, x=[str(c) for c in cols], y=rows, colorscale="Reds", colorbar_title="impact",
                               hovertemplate="%{y}, severity %{x}: impact %{z:.4f}<extra></extra>"))
    measure = drift.get("impact_measure", "impact")
    fig.update_layout(title=f"Impact by severity ({measure})", xaxis_title="severity", xaxis_type="category",
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
    breaks = {f"{b['feature'] if b['feature'] is not None else 'all features'} · {b['kind']}": b["severity"]
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
    fig.update_layout(title="Severity to impact (x: breaking point)", xaxis_title="severity",
                      yaxis_title=drift.get("impact_measure", "impact"), **LAYOUT)
    return fig


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
             [_fmt(s.get("power"), 2) for s in scenarios], [_fmt(s.get("flip_rate"), 3) for s in scenarios],
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
    fig.update_layout(title=f"Current data: {current['share_drifted']:.0%} of columns drifted ({verdict})",
                      **{**LAYOUT, "height": min(1200, 160 + 48 * len(cols))})
    return fig


def drift_figures(drift: dict[str, Any], n_features: int = 4) -> list[tuple[str, go.Figure]]:
    """The section's figures in page order, with the most sensitive features' distributions."""
    figures = [("current", current_table(drift))] if drift.get("current") else []
    figures += [("heatmap", impact_heatmap(drift)), ("curves", severity_curves(drift)),
                ("detection", detection_table(drift))]
    ranked = [r["feature"] for r in drift.get("sensitivity") or []]
    ranked += [f for f in (drift.get("distributions") or {}) if f not in ranked]
    figures += [(f"distribution-{i}", distribution_figure(drift, f)) for i, f in enumerate(ranked[:n_features])]
    return figures
