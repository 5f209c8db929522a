"""Explainability figures: importance bar, beeswarm, dependence scatter, one-sample waterfall (SHAP) or LIME
weights, shift under drift."""
from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import plotly.graph_objects as go

from modelwatch.figures.common import empty_figure
from modelwatch.figures.format import number, signed

LAYOUT = {"template": "plotly_white", "margin": {"l": 160, "r": 30, "t": 50, "b": 50}}
MAX_FEATURES = 20


_empty = partial(empty_figure, layout=LAYOUT)  # a placeholder chart with this module's layout


def _numeric(values: list[Any]) -> np.ndarray | None:
    """Values as floats, or None when they are categories."""
    try:
        return np.array([np.nan if v is None else float(v) for v in values])
    except (TypeError, ValueError):
        return None


def _scaled(values: list[Any]) -> np.ndarray:
    """Colour positions in [0, 1]: ranks for numbers, category order for strings (low to high)."""
    numbers = _numeric(values)
    if numbers is None:
        cats = sorted({str(v) for v in values if v is not None})
        lookup = {c: i for i, c in enumerate(cats)}
        numbers = np.array([lookup[str(v)] if v is not None else np.nan for v in values], dtype=float)
    finite = np.isfinite(numbers)
    out = np.full(len(numbers), np.nan)
    if finite.sum() > 1:
        ranks = numbers[finite].argsort().argsort()
        out[finite] = ranks / max(finite.sum() - 1, 1)
    elif finite.any():
        out[finite] = 0.5
    return out


def _label(value: Any) -> str:
    return number(value) if isinstance(value, float) else str(value)


def importance_figure(section: dict[str, Any]) -> go.Figure:
    """Mean |SHAP| per feature, largest at the top."""
    ranked = (section.get("feature_importance") or [])[:MAX_FEATURES]
    if not ranked:
        return _empty("Feature importance", "no attributions")
    label = "permutation importance" if "permutation importance" in str(section.get("explainer")) else "mean |SHAP|"
    fig = go.Figure(go.Bar(x=[e["mean_abs_shap"] for e in ranked][::-1], y=[e["feature"] for e in ranked][::-1],
                           orientation="h", marker_color="#1f77b4",
                           hovertemplate="%{y}<br>%{x:,.3~r}<extra></extra>"))
    fig.update_layout(title=f"Feature importance ({label})", xaxis_title=label,
                      height=max(260, 26 * len(ranked) + 100), **LAYOUT)
    return fig


def beeswarm_figure(section: dict[str, Any]) -> go.Figure:
    """Each explained row's contribution per feature, coloured by the feature's value (blue low, red high)."""
    samples = section.get("samples") or []
    ranked = [e["feature"] for e in (section.get("feature_importance") or [])[:MAX_FEATURES]]
    if not samples or not ranked:
        return _empty("SHAP values per row", "no explained rows")
    rng = np.random.default_rng(0)
    fig = go.Figure()
    for position, feature in enumerate(reversed(ranked)):
        shap_values = np.array([s["contributions"].get(feature, 0.0) for s in samples])
        raw = [s["row"].get(feature) for s in samples]
        fig.add_trace(go.Scatter(
            x=shap_values, y=position + rng.uniform(-0.3, 0.3, len(samples)), mode="markers", name=feature,
            marker={"color": _scaled(raw), "colorscale": "RdBu_r", "cmin": 0, "cmax": 1, "size": 6, "opacity": 0.8,
                    "colorbar": {"title": "feature value", "tickvals": [0, 1], "ticktext": ["low", "high"]}
                    if position == 0 else None, "showscale": position == 0},
            customdata=[_label(v) for v in raw],
            hovertemplate=f"{feature} = %{{customdata}}<br>SHAP %{{x:,.3~r}}<extra></extra>", showlegend=False))
    fig.add_vline(x=0, line_color="#999", line_width=1)
    unit = f" ({section['output']})" if section.get("output") else ""
    fig.update_layout(title="SHAP values per row (colour: feature value)", xaxis_title=f"SHAP value{unit}",
                      yaxis={"tickvals": list(range(len(ranked))), "ticktext": list(reversed(ranked))},
                      height=max(300, 30 * len(ranked) + 100), **LAYOUT)
    return fig


def dependence_figure(section: dict[str, Any], feature: str | None = None) -> go.Figure:
    """A feature's value against its SHAP value, coloured by its strongest interacting feature."""
    entries = section.get("dependence") or []
    entry = next((e for e in entries if feature is None or e["feature"] == feature), None)
    if entry is None:
        return _empty("Dependence", "no dependence data for this feature")
    other = entry.get("interaction_feature")
    values, colour = entry["values"], entry.get("interaction_values") or []
    numbers = _numeric(values)
    x = numbers if numbers is not None else [_label(v) for v in values]
    fig = go.Figure()
    colour_numbers = _numeric(colour) if colour else None
    if colour and colour_numbers is None:  # categorical interaction: one trace per category
        for category in sorted({_label(c) for c in colour}):
            keep = [i for i, c in enumerate(colour) if _label(c) == category]
            fig.add_trace(go.Scatter(x=[x[i] for i in keep], y=[entry["shap"][i] for i in keep], mode="markers",
                                     name=f"{other} = {category}", marker={"size": 7, "opacity": 0.8}))
    else:
        marker: dict[str, Any] = {"size": 7, "opacity": 0.8}
        if colour_numbers is not None:
            marker.update(color=colour_numbers, colorscale="RdBu_r", showscale=True, colorbar={"title": other})
        fig.add_trace(go.Scatter(x=x, y=entry["shap"], mode="markers", marker=marker, showlegend=False,
                                 customdata=[_label(c) for c in colour] if colour else None,
                                 hovertemplate=f"{entry['feature']} = %{{x}}<br>SHAP %{{y:,.3~r}}"
                                               + (f"<br>{other} = %{{customdata}}" if colour else "")
                                               + "<extra></extra>"))
    fig.add_hline(y=0, line_color="#999", line_width=1)
    fig.update_layout(title=f"Dependence of {entry['feature']}" + (f" (colour: {other})" if other else ""),
                      xaxis_title=entry["feature"], yaxis_title=f"SHAP value of {entry['feature']}", height=360,
                      **{**LAYOUT, "margin": {"l": 60, "r": 30, "t": 50, "b": 50}})
    return fig


def dependence_from_samples(samples: list[dict[str, Any]], feature: str, colour: str | None = None,
                            space: str | None = None) -> go.Figure:
    """Any feature's value against its SHAP value over the explained rows, coloured by any other feature."""
    if not samples or feature not in (samples[0].get("contributions") or {}):
        return _empty("Dependence", "no explained rows for this feature")
    values = [s["row"].get(feature) for s in samples]
    shap_values = [s["contributions"][feature] for s in samples]
    colours = [s["row"].get(colour) for s in samples] if colour else []
    entry = {"feature": feature, "values": values, "shap": shap_values, "interaction_feature": colour,
             "interaction_values": colours}
    fig = dependence_figure({"dependence": [entry]}, feature)
    if space:
        fig.update_layout(yaxis_title=f"SHAP value of {feature} ({space})")
    return fig


def to_probability(sample: dict[str, Any]) -> dict[str, Any]:
    """A binary row explained in log-odds, restated in probability: base and output through the logistic
    function, each contribution scaled by the same factor so that they still add up (an approximation: SHAP values
    are exact in log-odds only)."""
    base, output = float(sample["base_value"]), float(sample["prediction"])
    p_base, p_out = 1 / (1 + np.exp(-base)), 1 / (1 + np.exp(-output))
    scale = (p_out - p_base) / (output - base) if abs(output - base) > 1e-12 else p_base * (1 - p_base)
    return {**sample, "base_value": float(p_base), "prediction": float(p_out),
            "contributions": {k: float(v) * scale for k, v in sample["contributions"].items()}}


def waterfall_figure(sample: dict[str, Any] | None, max_features: int = 12, title: str | None = None,
                     space: str | None = None, empty: str = "pick a row of the table") -> go.Figure:
    """How one row's prediction is built: the base value, the largest contributions, the rest, the output;
    ``space`` names what the values are in (probability, log-odds...)."""
    if not sample or not sample.get("contributions"):
        return _empty("One prediction, explained", empty)
    items = sorted(sample["contributions"].items(), key=lambda kv: -abs(kv[1]))
    shown, rest = items[:max_features], items[max_features:]
    row = sample.get("row") or {}
    labels = [f"{name} = {_label(row[name])}" if name in row else name for name, _ in shown]
    values = [v for _, v in shown]
    if rest:
        labels.append(f"{len(rest)} other features")
        values.append(sum(v for _, v in rest))
    base = float(sample.get("base_value") or 0.0)
    fig = go.Figure(go.Waterfall(
        orientation="h", measure=["absolute"] + ["relative"] * len(values) + ["total"],
        y=["base value"] + labels + ["prediction"], x=[base] + values + [float(sample.get("prediction", 0.0))],
        base=0, increasing={"marker": {"color": "#d62728"}}, decreasing={"marker": {"color": "#1f77b4"}},
        totals={"marker": {"color": "#7f7f7f"}}, textposition="outside",
        text=[number(base)] + [signed(v) for v in values] + [number(float(sample.get("prediction", 0.0)))],
        cliponaxis=False))
    klass = f" · class {sample['class']}" if sample.get("class") is not None else ""
    unit = f" ({space})" if space else ""
    heading = f"Row {sample.get('index', '')}{klass}: prediction {number(float(sample.get('prediction', 0.0)))}{unit}"
    fig.update_layout(title=title or heading, xaxis_title=f"contribution{unit}",
                      yaxis={"autorange": "reversed"}, showlegend=False, height=max(320, 30 * len(values) + 140),
                      **{**LAYOUT, "margin": {"l": 220, "r": 80, "t": 60, "b": 50}})
    return fig


def lime_figure(sample: dict[str, Any] | None, max_features: int = 12) -> go.Figure:
    """One row's LIME weights: the local linear model's effect of each feature being in the row's bin."""
    lime = (sample or {}).get("lime") or {}
    if not lime.get("weights"):
        return _empty("LIME weights", "no LIME explanation for this row")
    items = sorted(lime["weights"].items(), key=lambda kv: -abs(kv[1]))[:max_features]
    row = sample.get("row") or {}
    labels = [f"{name} = {_label(row[name])}" if name in row else name for name, _ in items]
    fig = go.Figure(go.Bar(orientation="h", y=labels, x=[v for _, v in items],
                           marker_color=["#d62728" if v > 0 else "#1f77b4" for _, v in items],
                           text=[signed(v) for _, v in items], textposition="outside", cliponaxis=False))
    klass = f" · class {sample['class']}" if sample.get("class") is not None else ""
    fig.update_layout(title=f"Row {sample.get('index', '')}{klass}: LIME weights (local R² {lime['score']:.2f})",
                      yaxis={"autorange": "reversed"}, showlegend=False, height=max(320, 30 * len(items) + 140),
                      **{**LAYOUT, "margin": {"l": 220, "r": 80, "t": 60, "b": 50}})
    return fig


def interactions_figure(section: dict[str, Any]) -> go.Figure:
    """Mean |SHAP interaction value| between the most important features (the diagonal: their main effects)."""
    found = section.get("interactions") or {}
    if not found.get("matrix"):
        return _empty("Interactions", found.get("skipped") or "computed for tree models only")
    names = found["features"]
    matrix = np.array(found["matrix"], dtype=float)
    off = matrix.copy()
    np.fill_diagonal(off, np.nan)  # main effects dwarf interactions: colour the pairs only
    fig = go.Figure(go.Heatmap(z=off, x=names, y=names, colorscale="Blues", colorbar={"title": "mean |value|"},
                               customdata=matrix, hovertemplate="%{y} × %{x}<br>mean |interaction| "
                                                                "%{customdata:,.3~r}<extra></extra>"))
    fig.update_layout(title=f"SHAP interactions ({found['n_rows']} rows; diagonal left blank: main effects)",
                      yaxis_autorange="reversed", height=max(360, 28 * len(names) + 160),
                      **{**LAYOUT, "margin": {"l": 160, "r": 30, "t": 60, "b": 120}})
    return fig


def drift_shift_figure(section: dict[str, Any]) -> go.Figure:
    """Mean |SHAP| per feature on the reference rows against the same rows after the strongest drift."""
    drift = section.get("drift") or {}
    if not drift.get("changes"):
        return _empty("Importance under drift", drift.get("skipped") or "no drift scenario to compare")
    changes = drift["changes"][:MAX_FEATURES]
    names = [c["feature"] for c in changes][::-1]
    fig = go.Figure([
        go.Bar(name="reference", y=names, x=[c["reference"] for c in changes][::-1], orientation="h",
               marker_color="#1f77b4"),
        go.Bar(name="drifted", y=names, x=[c["drifted"] for c in changes][::-1], orientation="h",
               marker_color="#ff7f0e"),
    ])
    scenario = drift.get("scenario") or {}
    fig.update_layout(barmode="group", xaxis_title="mean |SHAP|",
                      title=f"Importance under drift: {scenario.get('kind')} of {scenario.get('feature')} "
                            f"(severity {scenario.get('severity')})",
                      height=max(300, 40 * len(changes) + 120), **LAYOUT)
    return fig
