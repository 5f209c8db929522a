"""Readable names and one-line definitions of the quality metrics: the one place the run page, the report and
comparisons take them from (the Result keeps scikit-learn's short keys)."""
from __future__ import annotations

from typing import Any, NamedTuple

from modelwatch.figures.format import MISSING, number, percent


class Metric(NamedTuple):
    label: str
    definition: str
    higher_is_better: bool
    percent: bool = False  # shown as a percentage (a share of rows)


METRICS: dict[str, Metric] = {
    "accuracy": Metric("Accuracy", "Share of rows whose predicted class is the true class.", True, True),
    "balanced_accuracy": Metric("Balanced accuracy", "Recall averaged over the classes: each class counts the "
                                "same however rare it is.", True, True),
    "precision_macro": Metric("Precision (macro)", "Of the rows predicted as a class, the share that truly are; "
                              "averaged over the classes.", True),
    "recall_macro": Metric("Recall (macro)", "Of the rows of a class, the share predicted as that class; averaged "
                           "over the classes.", True),
    "f1_macro": Metric("F1 (macro)", "Harmonic mean of precision and recall, averaged over the classes.", True),
    "roc_auc": Metric("ROC AUC", "Chance that a random positive row scores above a random negative one (0.5 is "
                      "chance); one-vs-rest average for many classes.", True),
    "log_loss": Metric("Log loss", "Mean negative log-probability given to the true class; punishes confident "
                       "mistakes.", False),
    "brier": Metric("Brier score", "Mean squared gap between the predicted probabilities and what happened.",
                    False),
    "mae": Metric("Mean absolute error", "Average size of the miss, in the target's units.", False),
    "rmse": Metric("Root mean squared error", "Typical size of the miss, in the target's units; large misses "
                   "weigh more.", False),
    "r2": Metric("R²", "Share of the target's variance the model explains (0 is always predicting the mean).", True),
    "mape": Metric("Mean absolute percentage error", "Average miss relative to the true value.", False, True),
}


def label(key: str) -> str:
    """The readable name of a metric key (the key itself when it is not in the glossary)."""
    return METRICS[key].label if key in METRICS else key.replace("_", " ")


def definition(key: str) -> str:
    return METRICS[key].definition if key in METRICS else ""


def shown(key: str, value: Any) -> str:
    """A metric's value as a reader sees it: a percentage for a share of rows, else about 3 significant digits."""
    if value is None:
        return MISSING
    return percent(value) if key in METRICS and METRICS[key].percent else number(value)
