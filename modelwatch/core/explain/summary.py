"""Turn attributions into the Result section: importance, explained samples and dependence data."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.explain.common import Attribution
from modelwatch.core.explain.encoding import CodedFrame

MAX_BY_CLASS_CELLS = 200_000  # per-class contributions of every row are kept only while they stay this small
N_DEPENDENCE = 5


def chosen(att: Attribution, index: np.ndarray) -> np.ndarray:
    """Each row's attributions for its chosen output ``(n, p)``."""
    return att.values[np.arange(len(index)), :, index]


def importance(values: np.ndarray, columns: list[str]) -> list[dict[str, Any]]:
    """Mean |SHAP| per feature, largest first."""
    mean_abs = np.abs(values).mean(axis=0) if len(values) else np.zeros(len(columns))
    order = np.argsort(-mean_abs, kind="stable")
    return [{"feature": columns[j], "mean_abs_shap": float(mean_abs[j])} for j in order]


def strongest_interaction(main: int, shap_main: np.ndarray, X: np.ndarray) -> int | None:
    """The feature whose values best explain the spread of ``main``'s SHAP values at equal ``main`` values.

    shap's ``approximate_interactions`` heuristic: sort by the main feature, cut into bins, and sum the
    within-bin |correlation| between the main SHAP values and each other feature.
    """
    n, p = X.shape
    if p < 2 or n < 4:
        return None
    order = np.argsort(X[:, main], kind="stable")
    size = max(n // 10, 3)
    scores = np.zeros(p)
    for start in range(0, n, size):
        rows = order[start:start + size]
        a = shap_main[rows] - shap_main[rows].mean()
        B = X[rows]
        present = ~np.isnan(B)
        means = np.where(present, B, 0.0).sum(axis=0) / np.maximum(present.sum(axis=0), 1)
        B = np.where(present, B, means) - means  # a missing value is neutral for the correlation
        denominator = np.sqrt((a ** 2).sum() * (B ** 2).sum(axis=0))
        with np.errstate(invalid="ignore", divide="ignore"):
            scores += np.where(denominator > 0, np.abs(a @ B) / denominator, 0.0)
    scores[main] = -1.0
    best = int(np.argmax(scores))
    return best if scores[best] > 0 else next(j for j in range(p) if j != main)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    return value


def dependence(values: np.ndarray, rows: pd.DataFrame, columns: list[str],
               ranked: list[dict[str, Any]], top: int = N_DEPENDENCE) -> list[dict[str, Any]]:
    """For the top features: their values, their SHAP values, and the strongest interacting feature's values."""
    codes = CodedFrame([rows], columns).encode(rows)
    out = []
    for entry in ranked[:top]:
        j = columns.index(entry["feature"])
        other = strongest_interaction(j, values[:, j], codes)
        out.append({
            "feature": columns[j],
            "values": [_plain(v) for v in rows[columns[j]].tolist()],
            "shap": values[:, j].tolist(),
            "interaction_feature": columns[other] if other is not None else None,
            "interaction_values": [_plain(v) for v in rows[columns[other]].tolist()] if other is not None else [],
        })
    return out


def samples(att: Attribution, index: np.ndarray, columns: list[str]) -> list[dict[str, Any]]:
    """The explained rows with their prediction, base value and contributions for the chosen output."""
    n, p, k = att.values.shape
    by_class = k > 1 and n * p * k <= MAX_BY_CLASS_CELLS
    out = []
    records = att.rows[columns].to_dict(orient="records")
    for i, record in enumerate(records):
        c = int(index[i])
        sample = {
            "row": {key: _plain(v) for key, v in record.items()},
            "prediction": float(att.output[i, c]),
            "base_value": float(att.base[c]),
            "contributions": dict(zip(columns, att.values[i, :, c].tolist())),
        }
        if k > 1:
            sample["class"] = _plain(att.outputs[c])
        if by_class:
            sample["by_class"] = {str(_plain(label)): {
                "prediction": float(att.output[i, m]), "base_value": float(att.base[m]),
                "contributions": dict(zip(columns, att.values[i, :, m].tolist())),
            } for m, label in enumerate(att.outputs)}
        out.append(sample)
    return out


def build(att: Attribution, index: np.ndarray, columns: list[str]) -> dict[str, Any]:
    """The explainability section (without drift) from one set of attributions."""
    values = chosen(att, index)
    ranked = importance(values, columns)
    k = att.values.shape[2]
    counts = np.bincount(index, minlength=k)
    default = int(np.argmax(counts)) if len(index) else 0
    section: dict[str, Any] = {
        "explainer": att.explainer,
        "why": att.why,
        "method": att.method,
        "output": att.space,
        "base_value": float(att.base[default]),
        "additivity_max_error": att.additivity_max_error,
        "feature_importance": ranked,
        "samples": samples(att, index, columns),
        "n_explained": len(att.rows),
        "sampled": "; ".join(att.notes) or None,
        "dependence": dependence(values, att.rows, columns, ranked),
        "details": att.details,
    }
    if k > 1:
        section["class"] = "predicted"
        section["class_note"] = ("each row is explained for its predicted class; by_class holds every class, "
                                 f"and base_value is the base of the most predicted class, {att.outputs[default]!r}")
        section["base_value_class"] = _plain(att.outputs[default])
        section["classes"] = [_plain(c) for c in att.outputs]
        section["base_values"] = {str(_plain(c)): float(b) for c, b in zip(att.outputs, att.base)}
        section["importance_by_class"] = {str(_plain(c)): importance(att.values[:, :, m], columns)
                                          for m, c in enumerate(att.outputs)}
    else:
        section["class"] = _plain(att.outputs[0]) if att.outputs and att.outputs[0] != "prediction" else None
    return section
