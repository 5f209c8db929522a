"""Quality figures: confusion matrix (at any cut-off), ROC, PR, cumulative gains, calibration; for regression
predicted against actual, the residuals' histogram and residuals by feature."""
from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go

from modelwatch.figures.common import empty_figure
from modelwatch.figures.format import number

LAYOUT = {"template": "plotly_white", "height": 380, "margin": {"l": 60, "r": 20, "t": 60, "b": 50}}
HOVER_NUMBER = ",.3~r"  # d3: 3 significant digits, thousands separators, never an exponent
UNIT_RANGE = {"xaxis_range": [0, 1], "yaxis_range": [0, 1.02]}
CHANCE = {"mode": "lines", "line": {"dash": "dot", "color": "grey"}, "hoverinfo": "skip"}

_empty = partial(empty_figure, layout=LAYOUT)  # a placeholder chart with this module's layout


def class_label(value: Any, names: dict[str, str] | None) -> str:
    """A class as shown: its value, and its name when the run gave one ("1 · benign")."""
    name = (names or {}).get(str(value))
    return f"{value} · {name}" if name else str(value)


def at_cutoff(table: dict[str, Any], index: int) -> dict[str, Any]:
    """The counts and rates of one row of the cut-off table (``core.checks.quality.cutoff_table``)."""
    tp, fp, tn, fn = (int(table[k][index]) for k in ("tp", "fp", "tn", "fn"))
    n = tp + fp + tn + fn

    def share(a: int, b: int) -> float | None:
        return a / b if b else None

    precision, recall = share(tp, tp + fp), share(tp, tp + fn)
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if n else None)
    return {"threshold": float(table["threshold"][index]), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "precision": precision, "recall": recall, "f1": f1, "accuracy": share(tp + tn, n),
            "positive_rate": share(tp + fp, n)}


def default_cutoff_index(table: dict[str, Any]) -> int:
    """The row of the table at the model's own cut-off (0.5 for probabilities, 0 for decision scores)."""
    cuts = table["threshold"]
    return min(range(len(cuts)), key=lambda i: abs(cuts[i] - table["default"]))


def _heatmap(matrix: list[list[int]], labels: list[str], title: str) -> go.Figure:
    fig = go.Figure(go.Heatmap(z=matrix, x=labels, y=labels, colorscale="Blues", text=[[number(v) for v in row]
                                                                                       for row in matrix],
                               texttemplate="%{text}", showscale=False,
                               hovertemplate="true %{y}, predicted %{x}: %{text} rows<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="predicted", yaxis_title="true", xaxis_type="category",
                      yaxis_type="category", yaxis_autorange="reversed", **LAYOUT)
    return fig


def confusion_matrix_figure(quality: dict[str, Any], cutoff_index: int | None = None) -> go.Figure:
    """Counts of true (rows) against predicted (columns) classes, annotated; at a cut-off of the table if given."""
    cm = quality.get("confusion_matrix")
    if not cm:
        return _empty("Confusion matrix", "not a classifier")
    names = quality.get("class_names")
    labels = [class_label(label, names) for label in cm["labels"]]
    table = quality.get("cutoffs")
    if table and cutoff_index is not None and len(labels) == 2:
        row = at_cutoff(table, cutoff_index)
        return _heatmap([[row["tn"], row["fp"]], [row["fn"], row["tp"]]], labels,
                        f"Confusion matrix at cut-off {number(row['threshold'])}")
    return _heatmap(cm["matrix"], labels, "Confusion matrix (the model's own predictions)")


def cutoff_rates_figure(quality: dict[str, Any], cutoff_index: int | None = None) -> go.Figure:
    """Precision, recall and F1 of the positive class at every cut-off of the table, the chosen one marked."""
    table = quality.get("cutoffs")
    if not table:
        return _empty("Precision and recall by cut-off", "binary classifiers with scores only")
    rows = [at_cutoff(table, i) for i in range(len(table["threshold"]))]
    fig = go.Figure([go.Scatter(x=table["threshold"], y=[r[key] for r in rows], mode="lines", name=key,
                                line={"color": colour},
                                hovertemplate=f"cut-off %{{x:{HOVER_NUMBER}}}<br>{key} %{{y:.3f}}<extra></extra>")
                     for key, colour in (("precision", "#0072b2"), ("recall", "#e69f00"), ("f1", "#009e73"))])
    if cutoff_index is not None:
        fig.add_vline(x=table["threshold"][cutoff_index], line_dash="dash", line_color="#d55e00")
    fig.update_layout(title="Precision and recall by cut-off", xaxis_title=f"cut-off ({table['score']})",
                      yaxis_title="value", yaxis_range=[0, 1.02], **LAYOUT)
    return fig


def roc_figure(quality: dict[str, Any], cutoff_index: int | None = None) -> go.Figure:
    """ROC curve of each class shown (the positive class when binary), the chance diagonal, and the cut-off."""
    roc = (quality.get("curves") or {}).get("roc") or {}
    if not roc:
        return _empty("ROC curve", "needs scores and both outcomes in the labels")
    names = quality.get("class_names")
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="chance", **CHANCE))
    for label, curve in roc.items():
        fig.add_trace(go.Scatter(x=curve["fpr"], y=curve["tpr"], mode="lines",
                                 name=f"{class_label(label, names)} (AUC {number(curve['auc'])})",
                                 hovertemplate=f"FPR %{{x:{HOVER_NUMBER}}}<br>TPR "
                                               f"%{{y:{HOVER_NUMBER}}}<extra></extra>"))
    table = quality.get("cutoffs")
    if table and cutoff_index is not None:
        row = at_cutoff(table, cutoff_index)
        fpr = row["fp"] / (row["fp"] + row["tn"]) if row["fp"] + row["tn"] else 0.0
        fig.add_trace(go.Scatter(x=[fpr], y=[row["recall"] or 0.0], mode="markers", name="cut-off",
                                 marker={"size": 11, "color": "#d55e00", "symbol": "x"}))
    fig.update_layout(title="ROC curve", xaxis_title="false positive rate", yaxis_title="true positive rate (recall)",
                      **UNIT_RANGE, **LAYOUT)
    return fig


def pr_figure(quality: dict[str, Any], cutoff_index: int | None = None) -> go.Figure:
    """Precision against recall for each class shown, and the cut-off's point."""
    pr = (quality.get("curves") or {}).get("pr") or {}
    if not pr:
        return _empty("Precision-recall curve", "needs scores and both outcomes in the labels")
    names = quality.get("class_names")
    fig = go.Figure()
    for label, curve in pr.items():
        fig.add_trace(go.Scatter(x=curve["recall"], y=curve["precision"], mode="lines",
                                 name=f"{class_label(label, names)} (AP {number(curve['average_precision'])})"))
    table = quality.get("cutoffs")
    if table and cutoff_index is not None and at_cutoff(table, cutoff_index)["precision"] is not None:
        row = at_cutoff(table, cutoff_index)
        fig.add_trace(go.Scatter(x=[row["recall"]], y=[row["precision"]], mode="markers", name="cut-off",
                                 marker={"size": 11, "color": "#d55e00", "symbol": "x"}))
    fig.update_layout(title="Precision-recall curve", xaxis_title="recall", yaxis_title="precision", showlegend=True,
                      **UNIT_RANGE, **LAYOUT)
    return fig


def gains_figure(quality: dict[str, Any]) -> go.Figure:
    """Cumulative gains: the share of a class caught by taking the top-scored rows first; lift on hover."""
    gains = (quality.get("curves") or {}).get("gains") or {}
    if not gains:
        return _empty("Cumulative gains", "needs scores and both outcomes in the labels")
    names = quality.get("class_names")
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], name="random order", **CHANCE))
    for label, curve in gains.items():
        lift = [c / t if t else None for t, c in zip(curve["taken"], curve["captured"])]
        fig.add_trace(go.Scatter(x=curve["taken"], y=curve["captured"], mode="lines", customdata=lift,
                                 name=class_label(label, names),
                                 hovertemplate=f"top %{{x:.1%}} of rows catch %{{y:.1%}}<br>lift "
                                               f"%{{customdata:{HOVER_NUMBER}}}<extra></extra>"))
    if len(gains) == 1:  # the perfect ranking for the one class shown: all its rows first
        share = next(iter(gains.values()))["positive_share"]
        fig.add_trace(go.Scatter(x=[0, share, 1], y=[0, 1, 1], name="perfect", mode="lines",
                                 line={"dash": "dash", "color": "#009e73"}, hoverinfo="skip"))
    fig.update_layout(title="Cumulative gains", xaxis_title="share of rows taken, highest score first",
                      yaxis_title="share of the class caught", xaxis_tickformat=".0%", yaxis_tickformat=".0%",
                      **UNIT_RANGE, **LAYOUT)
    return fig


def calibration_figure(quality: dict[str, Any]) -> go.Figure:
    """Observed frequency against mean predicted probability per bin, with each bin's row count."""
    cal = (quality.get("curves") or {}).get("calibration")
    if not cal:
        return _empty("Calibration", "needs predict_proba")
    what = "positive class" if cal["kind"] == "positive_class" else "top class (is the prediction right?)"
    counts = cal.get("count") or []
    fig = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], name="perfect", **CHANCE),
        go.Scatter(x=cal["mean_predicted"], y=cal["fraction_positive"], mode="lines+markers+text", name="model",
                   customdata=counts, text=[number(c) for c in counts], textposition="top center",
                   textfont={"size": 10, "color": "#666"},
                   hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{customdata} rows<extra></extra>"),
    ])
    fig.update_layout(title=f"Calibration, {what} (ECE {number(cal.get('ece', 0))})",
                      xaxis_title="mean predicted probability (labels: rows per bin)",
                      yaxis_title="observed frequency", **UNIT_RANGE, **LAYOUT)
    return fig


def predicted_actual_figure(quality: dict[str, Any]) -> go.Figure:
    """Each row's prediction against its true value, with the diagonal of perfect predictions."""
    res = quality.get("residuals")
    if not res:
        return _empty("Predicted against actual", "not a regressor")
    values = res["actual"] + res["predicted"]
    low, high = min(values), max(values)
    fig = go.Figure([
        go.Scatter(x=[low, high], y=[low, high], name="perfect", **CHANCE),
        go.Scattergl(x=res["actual"], y=res["predicted"], mode="markers", name="rows",
                     marker={"size": 5, "opacity": 0.6},
                     hovertemplate=f"actual %{{x:{HOVER_NUMBER}}}<br>predicted %{{y:{HOVER_NUMBER}}}<extra></extra>"),
    ])
    fig.update_layout(title="Predicted against actual", xaxis_title="actual", yaxis_title="predicted", **LAYOUT)
    return fig


def residuals_figure(quality: dict[str, Any]) -> go.Figure:
    """Residual (actual - predicted) against the prediction, with the zero line."""
    res = quality.get("residuals")
    if not res:
        return _empty("Residuals", "not a regressor")
    fig = go.Figure(go.Scattergl(x=res["predicted"], y=res["residual"], mode="markers", name="rows",
                                 marker={"size": 5, "opacity": 0.6},
                                 hovertemplate=f"predicted %{{x:{HOVER_NUMBER}}}<br>residual "
                                               f"%{{y:{HOVER_NUMBER}}}<extra></extra>"))
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    fig.update_layout(title=f"Residuals (mean {number(res['mean'])}, std {number(res['std'])})",
                      xaxis_title="predicted", yaxis_title="actual − predicted", **LAYOUT)
    return fig


def residual_histogram_figure(quality: dict[str, Any]) -> go.Figure:
    """How the residuals spread: a histogram centred on zero when the model is unbiased."""
    res = quality.get("residuals")
    if not res:
        return _empty("Residual distribution", "not a regressor")
    fig = go.Figure(go.Histogram(x=res["residual"], nbinsx=40, name="rows", marker_color="#0072b2",
                                 hovertemplate="residual %{x}<br>%{y} rows<extra></extra>"))
    fig.add_vline(x=0, line_dash="dot", line_color="grey")
    fig.update_layout(title="Residual distribution", xaxis_title="actual − predicted", yaxis_title="rows",
                      bargap=0.05, **LAYOUT)
    return fig


def residuals_by_feature_figure(quality: dict[str, Any], feature: str | None = None) -> go.Figure:
    """Residuals against one feature's values: a trend or a funnel shows where the model is wrong."""
    res = quality.get("residuals") or {}
    features = res.get("features") or {}
    if not features:
        return _empty("Residuals by feature", "no feature values were kept")
    feature = feature if feature in features else next(iter(features))
    fig = go.Figure(go.Scattergl(x=features[feature], y=res["residual"], mode="markers", name="rows",
                                 marker={"size": 5, "opacity": 0.6},
                                 hovertemplate=f"{feature} %{{x}}<br>residual %{{y:{HOVER_NUMBER}}}<extra></extra>"))
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    fig.update_layout(title=f"Residuals by {feature}", xaxis_title=feature, yaxis_title="actual − predicted",
                      **LAYOUT)
    return fig


def quality_figures(quality: dict[str, Any]) -> list[tuple[str, go.Figure]]:
    """The figures that apply to the section's task, with names, for the run page and the HTML export."""
    if quality.get("task") == "regression":
        return [("predicted_actual", predicted_actual_figure(quality)), ("residuals", residuals_figure(quality)),
                ("residual_histogram", residual_histogram_figure(quality)),
                ("residuals_by_feature", residuals_by_feature_figure(quality))]
    return [("confusion_matrix", confusion_matrix_figure(quality)), ("roc", roc_figure(quality)),
            ("pr", pr_figure(quality)), ("gains", gains_figure(quality)),
            ("calibration", calibration_figure(quality))]
