"""Quality figures: confusion matrix, ROC and PR curves, calibration, residuals."""
from __future__ import annotations

from functools import partial
from typing import Any

import plotly.graph_objects as go

from modelwatch.figures.common import empty_figure

LAYOUT = {"template": "plotly_white", "height": 380, "margin": {"l": 60, "r": 20, "t": 50, "b": 50}}


_empty = partial(empty_figure, layout=LAYOUT)  # a placeholder chart with this module's layout


def confusion_matrix_figure(quality: dict[str, Any]) -> go.Figure:
    """Counts of true (rows) against predicted (columns) classes, annotated."""
    cm = quality.get("confusion_matrix")
    if not cm:
        return _empty("Confusion matrix", "not a classifier")
    labels = [str(label) for label in cm["labels"]]
    fig = go.Figure(go.Heatmap(z=cm["matrix"], x=labels, y=labels, colorscale="Blues", text=cm["matrix"],
                               texttemplate="%{text}", hovertemplate="true %{y}, predicted %{x}: %{z}<extra></extra>"))
    fig.update_layout(title="Confusion matrix", xaxis_title="predicted", yaxis_title="true", xaxis_type="category",
                      yaxis_type="category", yaxis_autorange="reversed", **LAYOUT)
    return fig


def roc_figure(quality: dict[str, Any]) -> go.Figure:
    """ROC curve of each class shown (the positive class when binary), with the chance diagonal."""
    roc = (quality.get("curves") or {}).get("roc") or {}
    if not roc:
        return _empty("ROC curve", "needs predict_proba and both outcomes in the labels")
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"},
                               name="chance", hoverinfo="skip"))
    for label, curve in roc.items():
        fig.add_trace(go.Scatter(x=curve["fpr"], y=curve["tpr"], mode="lines",
                                 name=f"{label} (AUC {curve['auc']:.3f})"))
    fig.update_layout(title="ROC curve", xaxis_title="false positive rate", yaxis_title="true positive rate",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02], **LAYOUT)
    return fig


def pr_figure(quality: dict[str, Any]) -> go.Figure:
    """Precision against recall for each class shown."""
    pr = (quality.get("curves") or {}).get("pr") or {}
    if not pr:
        return _empty("Precision-recall curve", "needs predict_proba and both outcomes in the labels")
    fig = go.Figure()
    for label, curve in pr.items():
        fig.add_trace(go.Scatter(x=curve["recall"], y=curve["precision"], mode="lines",
                                 name=f"{label} (AP {curve['average_precision']:.3f})"))
    fig.update_layout(title="Precision-recall curve", xaxis_title="recall", yaxis_title="precision", showlegend=True,
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02], **LAYOUT)
    return fig


def calibration_figure(quality: dict[str, Any]) -> go.Figure:
    """Observed frequency against mean predicted probability per bin (the diagonal is perfect calibration)."""
    cal = (quality.get("curves") or {}).get("calibration")
    if not cal:
        return _empty("Calibration", "needs predict_proba")
    what = "positive class" if cal["kind"] == "positive_class" else "top class (is the prediction right?)"
    fig = go.Figure([
        go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "grey"}, name="perfect",
                   hoverinfo="skip"),
        go.Scatter(x=cal["mean_predicted"], y=cal["fraction_positive"], mode="lines+markers", name="model",
                   customdata=cal.get("count"),
                   hovertemplate="predicted %{x:.2f}<br>observed %{y:.2f}<br>%{customdata} rows<extra></extra>"),
    ])
    fig.update_layout(title=f"Calibration, {what} (ECE {cal.get('ece', 0):.3f})",
                      xaxis_title="mean predicted probability", yaxis_title="observed frequency",
                      xaxis_range=[0, 1], yaxis_range=[0, 1.02], **LAYOUT)
    return fig


def residuals_figure(quality: dict[str, Any]) -> go.Figure:
    """Residual (actual - predicted) against the prediction, with the zero line."""
    res = quality.get("residuals")
    if not res:
        return _empty("Residuals", "not a regressor")
    fig = go.Figure(go.Scattergl(x=res["predicted"], y=res["residual"], mode="markers",
                                 marker={"size": 5, "opacity": 0.6},
                                 hovertemplate="predicted %{x:.3g}<br>residual %{y:.3g}<extra></extra>"))
    fig.add_hline(y=0, line_dash="dot", line_color="grey")
    fig.update_layout(title=f"Residuals (mean {res['mean']:.3g}, std {res['std']:.3g})",
                      xaxis_title="predicted", yaxis_title="actual - predicted", **LAYOUT)
    return fig


def quality_figures(quality: dict[str, Any]) -> list[tuple[str, go.Figure]]:
    """The figures that apply to the section's task, with names, for the run page and the HTML export."""
    if quality.get("task") == "regression":
        return [("residuals", residuals_figure(quality))]
    return [("confusion_matrix", confusion_matrix_figure(quality)), ("roc", roc_figure(quality)),
            ("pr", pr_figure(quality)), ("calibration", calibration_figure(quality))]
