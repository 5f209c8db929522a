"""LIME for tables, written here: the ``lime`` package pulls scikit-image, matplotlib, networkx and pillow
(~95 MB) into the sandbox for the ~100 lines its tabular explainer needs.

The algorithm is ``lime.lime_tabular.LimeTabularExplainer``'s default one: numeric features are cut at the
reference rows' quartiles and every feature becomes "in the explained row's bin (or category) or not";
perturbations draw each feature's bin from the reference frequencies and a value of that bin from the reference
rows; the samples are weighted by the exponential kernel ``sqrt(exp(-d^2 / w^2))`` with ``w = 0.75 sqrt(p)`` on
that binary representation; a weighted ridge (alpha 1) on it gives each feature's local weight for the explained
output (the predicted class's probability, or the regression value).

Checked against lime 0.2.0.1 (in a throwaway venv) on five rows of a 50-tree cancer forest, 5,000
perturbations each: Pearson correlation of all 30 weights 0.88 to 0.99, top-5 features shared 4 or 5 of 5.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.model.predict import predict_output, to_model_input

N_PERTURBATIONS = 2000
TOP_K = 5
MAX_ROWS = 10
ROWS_PER_CALL = 3  # rows whose perturbations one call predicts (6,000 rows at N = 2000): a bounded frame


def _bins(values: pd.Series, numeric: bool) -> tuple[np.ndarray, Callable[[Any], np.ndarray]]:
    """Each reference value's bin code, and the function that codes any value the same way."""
    if numeric:
        edges = np.unique(np.nanpercentile(values.to_numpy(dtype=float), [25, 50, 75]))
        return np.searchsorted(edges, values.to_numpy(dtype=float)), \
            lambda x: np.searchsorted(edges, np.asarray(x, dtype=float))
    categories = {v: i for i, v in enumerate(pd.unique(values.astype(str)))}
    return np.array([categories[str(v)] for v in values]), \
        lambda x: np.array([categories.get(str(v), -1) for v in np.atleast_1d(x)])


Binning = list[tuple[str, np.ndarray, np.ndarray, Callable[[Any], np.ndarray]]]


def binning(reference: pd.DataFrame) -> Binning:
    """Per reference column: its name, values, each value's bin code and the function that codes any value."""
    out = []
    for column in reference.columns:
        values = reference[column]
        numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
        codes, code_of = _bins(values, numeric)
        out.append((column, values.to_numpy(), codes, code_of))
    return out


def perturb(row: pd.Series, reference: pd.DataFrame, n: int, rng: np.random.Generator,
            bins: Binning | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` rows around ``row`` (the first is ``row`` itself) and their binary representation; ``bins`` is
    ``binning(reference)``, computed once for many rows."""
    columns: dict[str, np.ndarray] = {}
    binary = np.ones((n, len(reference.columns)))
    for j, (column, values, codes, code_of) in enumerate(bins or binning(reference)):
        # a reference row drawn uniformly is a bin drawn by its frequency, then a value of that bin
        drawn = rng.integers(0, len(values), n)
        binary[:, j] = codes[drawn] == code_of([row[column]])[0]
        binary[0, j] = 1
        columns[column] = values[drawn]
        columns[column][0] = row[column]
    frame = pd.DataFrame(columns)
    return frame, binary


def weighted_ridge(binary: np.ndarray, target: np.ndarray, weights: np.ndarray, alpha: float = 1.0
                   ) -> tuple[np.ndarray, float, float]:
    """Ridge (intercept not penalised) fitted with sample weights; returns coefficients, intercept and R^2."""
    w = weights / weights.sum()
    x_mean, y_mean = w @ binary, w @ target
    xc, yc = binary - x_mean, target - y_mean
    gram = (xc * w[:, None]).T @ xc * len(w) + alpha * np.eye(binary.shape[1])
    coef = np.linalg.solve(gram, (xc * w[:, None]).T @ yc * len(w))
    residual = yc - xc @ coef
    total = w @ yc ** 2
    score = 1.0 - (w @ residual ** 2) / total if total > 0 else 1.0
    return coef, float(y_mean - x_mean @ coef), float(score)


def explain_row(predict: Callable[[pd.DataFrame], np.ndarray], row: pd.Series, reference: pd.DataFrame,
                rng: np.random.Generator, n_samples: int = N_PERTURBATIONS) -> dict[str, Any]:
    """LIME weights of one row.

    Args:
        predict: the explained output (one number per row) of a frame with the reference's columns.
        row: the row to explain.
        reference: rows whose distribution the perturbations follow (the background).
        rng: the random generator (seeded by the run).
        n_samples: perturbations, the row included.

    Returns:
        ``{"weights": {feature: w}, "intercept", "score" (weighted R^2), "local_prediction", "kernel_width",
        "n_samples"}``.
    """
    frame, binary = perturb(row, reference, n_samples, rng)
    return fit_row(binary, np.asarray(predict(frame), dtype=float).reshape(-1), reference.columns)


def fit_row(binary: np.ndarray, target: np.ndarray, columns: Any) -> dict[str, Any]:
    """LIME weights of one row from its perturbations' binary representation and explained outputs."""
    width = 0.75 * np.sqrt(binary.shape[1])
    distances = np.sqrt(((binary - 1.0) ** 2).sum(axis=1))
    kernel = np.sqrt(np.exp(-(distances ** 2) / width ** 2))
    coef, intercept, score = weighted_ridge(binary, target, kernel)
    return {"weights": dict(zip(map(str, columns), coef.tolist())), "intercept": intercept,
            "score": score, "local_prediction": float(intercept + coef.sum()), "kernel_width": float(width),
            "n_samples": len(binary)}


def add_lime(section: dict[str, Any], model: Any, info: dict[str, Any], rows: pd.DataFrame,
             background: pd.DataFrame, index: np.ndarray, seed: int, deadline: float,
             max_rows: int = MAX_ROWS) -> None:
    """Give the first ``max_rows`` explained samples of ``section`` their LIME weights (``sample["lime"]``) and
    their agreement with SHAP (``sample["lime"]["agreement"]``), for the output SHAP explained; stop at
    ``deadline`` (``time.monotonic()``). ``section["lime"]`` says how many rows were explained and how.

    The perturbations of all rows are drawn first (the same draws, in the same order, as one row at a time) and
    predicted in few calls, not one per row: the first row's alone, which times a row, then as many of the others
    as that says fit before the deadline, ``ROWS_PER_CALL`` rows a call (a bounded frame: the sandbox's memory limit
    holds while drift runs beside this section).
    """
    samples = (section.get("samples") or [])[:max_rows]
    rng = np.random.default_rng(seed)
    bins = binning(background)
    perturbed = [perturb(rows.iloc[i], background, N_PERTURBATIONS, rng, bins) for i in range(len(samples))]

    def outputs(start: int, stop: int) -> list[np.ndarray]:
        frame = pd.concat([f for f, _ in perturbed[start:stop]], ignore_index=True)
        values = np.asarray(predict_output(model, to_model_input(frame, info), info), dtype=float)
        values = values.reshape(len(frame), -1)
        return [values[k * N_PERTURBATIONS:(k + 1) * N_PERTURBATIONS, int(index[i]) if values.shape[1] > 1 else 0]
                for k, i in enumerate(range(start, stop))]

    targets: list[np.ndarray] = []
    if samples and time.monotonic() <= deadline:
        started = time.monotonic()
        targets = outputs(0, 1)
        per_row = time.monotonic() - started
        fit = int(max(deadline - time.monotonic(), 0.0) / max(per_row, 1e-9))
        stop = min(len(samples), 1 + fit)
        for start in range(1, stop, ROWS_PER_CALL):
            targets += outputs(start, min(stop, start + ROWS_PER_CALL))
    for sample, (_, binary), target in zip(samples, perturbed, targets):
        explained = fit_row(binary, target, background.columns)
        explained["agreement"] = top_agreement(sample["contributions"], explained["weights"])
        sample["lime"] = explained
    done = len(targets)
    shared = [s["lime"]["agreement"]["shared"] for s in samples[:done]]
    section["lime"] = {"n_rows": done, "n_samples": N_PERTURBATIONS, "discretizer": "quartile",
                       "mean_shared_top5": round(float(np.mean(shared)), 3) if shared else None}


def top_agreement(shap: dict[str, float], lime: dict[str, float], k: int = TOP_K) -> dict[str, Any]:
    """How far the two explanations agree on a row: shared top-``k`` features by magnitude, and the Spearman
    correlation of the magnitude ranks over the union of both top-``k`` lists."""
    def ranked(values: dict[str, float]) -> list[str]:
        return sorted(values, key=lambda f: -abs(values[f]))

    k = min(k, len(shap))
    top_shap, top_lime = ranked(shap)[:k], ranked(lime)[:k]
    union = sorted(set(top_shap) | set(top_lime))
    rank_shap = {f: i for i, f in enumerate(ranked(shap))}
    rank_lime = {f: i for i, f in enumerate(ranked(lime))}
    a = np.array([rank_shap.get(f, len(shap)) for f in union], dtype=float)
    b = np.array([rank_lime.get(f, len(lime)) for f in union], dtype=float)
    rho = float(pd.Series(a).corr(pd.Series(b), method="spearman")) if len(union) > 2 else None
    return {"k": k, "shared": len(set(top_shap) & set(top_lime)), "top_shap": top_shap, "top_lime": top_lime,
            "spearman": None if rho is None or np.isnan(rho) else round(rho, 4)}
