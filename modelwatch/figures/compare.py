"""Comparison figures: several runs overlaid (latency per batch size, drift impact and importance per feature) and
a parallel-coordinates view of their headline metrics.

Each builder takes ``[{"label": str, "result": Result | None}]``, the first run being the baseline; a run whose
section is missing or skipped is left out of that figure (and named in its title).
"""
from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go

from modelwatch.core.results.report import section_of
from modelwatch.figures.common import BASE_LAYOUT, OKABE_ITO, empty_figure, style_figure
from modelwatch.figures.format import number

LAYOUT = {**BASE_LAYOUT, "height": 380}
COLORS = OKABE_ITO
TOP_FEATURES = 15
MAX_AXES = 12  # parallel coordinates: more axes than this no longer read
ALL_FEATURES = "all features"  # a drift scenario without a feature shifts every feature


_empty = partial(empty_figure, layout=LAYOUT)  # a placeholder chart with this module's layout


def _with(runs: list[dict[str, Any]], section: str) -> tuple[list[tuple[int, dict, dict]], list[str]]:
    """(index, run, section) of the runs that have the section, and the labels of those that do not."""
    present, missing = [], []
    for i, run in enumerate(runs):
        found = section_of(run.get("result"), section)
        if found is None:
            missing.append(run["label"])
        else:
            present.append((i, run, found))
    return present, missing


def _title(text: str, missing: list[str]) -> str:
    return f"{text} (not in: {', '.join(missing)})" if missing else text


def latency_overlay(runs: list[dict[str, Any]], stat: str = "p95") -> go.Figure:
    """Latency ``stat`` (and p50, dotted) per batch size, one line per run."""
    present, missing = _with(runs, "performance")
    title = _title(f"Latency per call ({stat} solid, p50 dotted)", missing)
    if not present:
        return _empty(title, "no run has performance figures")
    fig = go.Figure()
    for i, run, perf in present:
        latency = perf.get("latency_ms") or {}
        sizes = sorted((s for s in latency if str(s).isdigit()), key=int)
        color = COLORS[i % len(COLORS)]
        fig.add_trace(go.Scatter(x=[int(s) for s in sizes], y=[latency[s].get(stat) for s in sizes],
                                 mode="lines+markers", name=f"{run['label']} {stat}", line={"color": color},
                                 hovertemplate="batch %{x:,}<br>%{y:,.3~r} ms<extra>" + run["label"] + "</extra>"))
        fig.add_trace(go.Scatter(x=[int(s) for s in sizes], y=[latency[s].get("p50") for s in sizes],
                                 mode="lines", name=f"{run['label']} p50", line={"color": color, "dash": "dot"},
                                 showlegend=False, hoverinfo="skip"))
    sizes = sorted({int(s) for _, _, perf in present for s in (perf.get("latency_ms") or {}) if str(s).isdigit()})
    style_figure(fig, title, "batch size (rows)", "latency per call (ms)", height=380, xaxis_type="log")
    fig.update_xaxes(tickvals=sizes, ticktext=[f"{s:,}" for s in sizes])
    fig.update_yaxes(rangemode="tozero", tickformat=",.3~r")
    return fig


def _drift_impact(drift: dict[str, Any]) -> dict[str, float]:
    """The largest |prediction shift| any scenario of a feature caused."""
    impact: dict[str, float] = {}
    for scenario in drift.get("scenarios") or []:
        shift = scenario.get("prediction_shift")
        if isinstance(shift, (int, float)):
            feature = str(scenario["feature"]) if scenario.get("feature") is not None else ALL_FEATURES
            impact[feature] = max(impact.get(feature, 0.0), abs(float(shift)))
    return impact


def _importance(explain: dict[str, Any]) -> dict[str, float]:
    ranked = explain.get("feature_importance") or []
    return {str(e.get("feature")): float(e.get("mean_abs_shap") or 0.0) for e in ranked}


def _per_feature(runs: list[dict[str, Any]], section: str, extract, title: str, axis: str) -> go.Figure:
    present, missing = _with(runs, section)
    title = _title(title, missing)
    values = [(i, run, extract(found)) for i, run, found in present]
    values = [(i, run, v) for i, run, v in values if v]
    if not values:
        return _empty(title, f"no run has {section} figures")
    # features ranked by the baseline's value first, then by the largest value in any run
    ranked = sorted({f for _, _, v in values for f in v},
                    key=lambda f: (-values[0][2].get(f, 0.0), -max(v.get(f, 0.0) for _, _, v in values)))
    features = ranked[:TOP_FEATURES][::-1]
    fig = go.Figure([
        go.Bar(name=run["label"], y=features, x=[v.get(f) for f in features], orientation="h",
               marker_color=COLORS[i % len(COLORS)],
               hovertemplate="%{y}<br>%{x:,.3~r}<extra>" + run["label"] + "</extra>")
        for i, run, v in values
    ])
    return style_figure(fig, title, axis, "feature", height=max(320, 22 * len(features) * len(values) + 140),
                        barmode="group")


def drift_impact_overlay(runs: list[dict[str, Any]]) -> go.Figure:
    """Per feature, the largest |prediction shift| its drift scenarios caused, grouped by run."""
    return _per_feature(runs, "drift", _drift_impact, "Drift impact per feature", "max |prediction shift|")


def importance_overlay(runs: list[dict[str, Any]]) -> go.Figure:
    """Per feature, the mean |SHAP| of each run."""
    return _per_feature(runs, "explainability", _importance, "Feature importance", "mean |SHAP|")


def _axis_position(values: list[float], better: str) -> list[float]:
    """Each value's place on its axis, 0 (worst of the runs) to 1 (best); 0.5 for all when they are equal."""
    low, high = min(values), max(values)
    if high == low:
        return [0.5] * len(values)
    places = [(v - low) / (high - low) for v in values]
    return [1 - p for p in places] if better == "lower" else places


def parallel_coordinates(runs: list[dict[str, Any]], metrics: list[dict[str, Any]]) -> go.Figure:
    """One line per run across the headline metrics every run has: MLflow's parallel-coordinates view, drawn
    with plain SVG lines (no WebGL, so it shows in every browser and in exports). Each axis runs from the worst of
    the runs (bottom) to the best (top) by the metric's direction of "better", so a line that stays high is the
    better run; up to ``MAX_AXES`` axes, the metrics that differ most between the runs.

    Args:
        runs: ``[{"label"}]``, the baseline first.
        metrics: the comparison's rows ``[{"key", "label", "better", "values"}]`` (one value per run).
    """
    numeric = [[isinstance(m["values"][i], (int, float)) for m in metrics] for i in range(len(runs))]
    present = [i for i in range(len(runs)) if any(numeric[i])]  # a failed run has no figure at all
    title = _title("All runs across their metrics (up: better)",
                   [run["label"] for i, run in enumerate(runs) if i not in present])
    complete = [{**m, "values": [m["values"][i] for i in present]} for k, m in enumerate(metrics)
                if m.get("better") != "neutral" and all(numeric[i][k] for i in present)]
    if len(present) < 2 or not complete:
        return _empty(title, "the runs share no metric")

    def spread(row: dict[str, Any]) -> float:
        low, high = min(row["values"]), max(row["values"])
        return (high - low) / max(abs(high), abs(low), 1e-12)

    chosen = sorted(complete, key=spread, reverse=True)[:MAX_AXES]
    chosen.sort(key=complete.index)  # back in the table's order
    axes = [m["label"] for m in chosen]
    places = [_axis_position(m["values"], m["better"]) for m in chosen]
    fig = go.Figure()
    for j, i in enumerate(present):
        label = runs[i]["label"]
        fig.add_trace(go.Scatter(
            x=axes, y=[p[j] for p in places], mode="lines+markers", name=label,
            line={"color": COLORS[i % len(COLORS)], "width": 3 if i == 0 else 2}, marker={"size": 8},
            customdata=[number(m["values"][j]) for m in chosen],
            hovertemplate="%{x}: %{customdata}<extra>" + label + "</extra>"))
    for axis in axes:
        fig.add_shape(type="line", x0=axis, x1=axis, y0=0, y1=1, xref="x", yref="y",
                      line={"color": "#adb5bd", "width": 1}, layer="below")
    style_figure(fig, title, None, "place among the runs", height=440)
    fig.update_yaxes(range=[-0.08, 1.08], tickvals=[0, 1], ticktext=["worst", "best"], showgrid=False,
                     zeroline=False)
    fig.update_xaxes(tickangle=-25, showgrid=False)
    return fig


def compare_figures(runs: list[dict[str, Any]], metrics: list[dict[str, Any]]) -> list[tuple[str, go.Figure]]:
    """Every comparison figure with a name, in page order (``metrics``: the comparison's rows)."""
    return [("parallel", parallel_coordinates(runs, metrics)), ("latency", latency_overlay(runs)),
            ("drift", drift_impact_overlay(runs)), ("importance", importance_overlay(runs))]

