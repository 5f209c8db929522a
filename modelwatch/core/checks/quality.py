"""Quality with labels: scikit-learn's metrics on ``sample`` (and ``current``), curves and bootstrap intervals.

Point estimates are scikit-learn's own functions. The 95% intervals are percentile bootstraps: each resample
is a row of counts ``W`` (how often each row was drawn), so every headline metric is a weighted sum over the
rows and all resamples are computed at once with matrix products (see ``core/checks/bootstrap.py``).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.dummy import DummyClassifier, DummyRegressor

from modelwatch.core.checks.bootstrap import bootstrap_classification, bootstrap_regression
from modelwatch.core.config import QualityConfig
from modelwatch.core.model.predict import to_model_input

if TYPE_CHECKING:
    from modelwatch.core.checks.context import SuiteContext

N_BOOT = QualityConfig.n_boot  # the default of the functions below; declared once, in core.config
MAX_CURVE_POINTS = 200
MAX_RESIDUALS = 500
MAX_CURVE_CLASSES = 10
CALIBRATION_BINS = 10
N_CUTOFFS = 101  # rows of the cut-off table: the slider's positions
MAX_RESIDUAL_FEATURES = 20  # features whose values are kept beside the residuals
MINORITY_SHARE = 0.2  # a class below this share of the labelled rows is called out
RECALL_GAP = 0.5  # a class whose recall is below this fraction of the best class's recall is called out


def _thin(*arrays: np.ndarray, limit: int = MAX_CURVE_POINTS) -> list[list[float]]:
    """Keep at most ``limit`` evenly spaced points of aligned arrays (first and last always kept)."""
    n = len(arrays[0])
    keep = np.unique(np.linspace(0, n - 1, limit).round().astype(int)) if n > limit else np.arange(n)
    return [[float(v) for v in np.asarray(a, dtype=float)[keep]] for a in arrays]


def align_labels(y: np.ndarray, classes: list[Any]) -> np.ndarray:
    """Map labels read from a CSV onto the model's classes (``1`` matches ``1.0``, ``"1"`` matches ``1``).

    Returns:
        An object array; labels matching no class are ``None``.
    """
    lookup: dict[Any, Any] = {str(c): c for c in classes}
    lookup.update({c: c for c in classes})
    out = np.empty(len(y), dtype=object)
    for i, value in enumerate(y):
        if value is None or (isinstance(value, (float, np.floating)) and np.isnan(value)):
            continue
        found = lookup.get(value, lookup.get(str(value)))
        if found is None:  # "1.0" or 1.0 for the class 1
            try:
                number = float(value)
            except (TypeError, ValueError):
                number = None
            if number is not None and number.is_integer():
                found = lookup.get(str(int(number)))
        out[i] = found
    return out


def _calibration(hit: np.ndarray, score: np.ndarray, kind: str) -> dict[str, Any]:
    frac, mean = calibration_curve(hit, score, n_bins=CALIBRATION_BINS, strategy="uniform")
    edges = np.linspace(0, 1, CALIBRATION_BINS + 1)
    # the bins of calibration_curve itself (a score on an edge goes to the lower bin), so counts align with it
    counts = np.bincount(np.searchsorted(edges[1:-1], score), minlength=CALIBRATION_BINS)
    counts = counts[counts > 0]
    ece = float(np.sum(counts / counts.sum() * np.abs(frac - mean)))
    return {"kind": kind, "mean_predicted": mean.tolist(), "fraction_positive": frac.tolist(),
            "count": counts.tolist(), "ece": ece}


def classification_quality(y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None, classes: list[Any],
                           n_boot: int = N_BOOT, seed: int = 0, scores: np.ndarray | None = None) -> dict[str, Any]:
    """Classification metrics, per-class scores, confusion matrix, curves and bootstrap intervals.

    Args:
        y: true labels, each one of ``classes``.
        pred: predicted labels.
        proba: ``predict_proba`` output with columns in ``classes`` order, or None.
        classes: the model's ``classes_``.
        n_boot: bootstrap resamples (0 for none).
        seed: the bootstrap's seed.
        scores: ``decision_function`` output, used for ROC AUC and the curves when there is no ``proba``.

    Returns:
        ``{"metrics", "per_class", "confusion_matrix", "curves", "cutoffs", "ci", "bootstrap"}``; ``ci`` maps a
        headline metric to its 95% interval ``[low, high]``, ``bootstrap`` says how (``n_boot``, ``rows``,
        ``level``); ``cutoffs`` (binary with scores, else None) is ``cutoff_table`` for the positive class.
    """
    labels = np.asarray(classes)
    m: dict[str, Any] = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "precision_macro": skm.precision_score(y, pred, average="macro", zero_division=0),
        "recall_macro": skm.recall_score(y, pred, average="macro", zero_division=0),
        "f1_macro": skm.f1_score(y, pred, average="macro", zero_division=0),
    }
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    per_class = {str(c): {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
                 for i, c in enumerate(classes)}
    # what ranks the rows for AUC and the curves: probabilities, else decision scores (one column per class)
    ranking = proba
    if ranking is None and scores is not None:
        ranking = np.column_stack([-scores, scores]) if np.ndim(scores) == 1 else np.asarray(scores, dtype=float)
    present = set(np.unique(y).tolist())
    if proba is not None:
        m["log_loss"] = skm.log_loss(y, proba, labels=labels)
        m["brier"] = (skm.brier_score_loss(y == labels[1], proba[:, 1]) if len(classes) == 2
                      else skm.brier_score_loss(y, proba, labels=labels))
    if ranking is not None:
        if len(classes) == 2:
            m["roc_auc"] = skm.roc_auc_score(y == labels[1], ranking[:, 1]) if len(present) == 2 else None
        elif len(present) < len(classes):
            m["roc_auc"] = None  # one-vs-rest needs every class among the labels
        elif proba is not None:
            m["roc_auc"] = skm.roc_auc_score(y, proba, multi_class="ovr", labels=labels)
        else:  # the same macro one-vs-rest average, on scores that are not probabilities
            m["roc_auc"] = float(np.mean([skm.roc_auc_score(y == c, ranking[:, k]) for k, c in enumerate(classes)]))
    curves = _curves(y, ranking, classes, proba) if ranking is not None else {}
    cutoffs = (cutoff_table(y == labels[1], ranking[:, 1], proba is not None)
               if ranking is not None and len(classes) == 2 else None)
    boot: dict[str, Any] = {"ci": {}}
    if n_boot:
        boot = bootstrap_classification(y, pred, proba, classes, n_boot, seed, scores=ranking,
                                      with_auc=m.get("roc_auc") is not None)
    return {"metrics": {k: (float(v) if v is not None else None) for k, v in m.items()}, "per_class": per_class,
            "confusion_matrix": {"labels": [str(c) for c in classes],
                                 "matrix": skm.confusion_matrix(y, pred, labels=labels).tolist()},
            "curves": curves, "cutoffs": cutoffs, "ci": boot.pop("ci"), "bootstrap": boot or None}


def _curves(y: np.ndarray, ranking: np.ndarray, classes: list[Any], proba: np.ndarray | None) -> dict[str, Any]:
    """ROC and PR points per class (the positive class only when binary) and the calibration curve."""
    roc, pr, gains = {}, {}, {}
    shown = [1] if len(classes) == 2 else list(range(min(len(classes), MAX_CURVE_CLASSES)))
    for k in shown:
        hit = y == classes[k]
        if hit.all() or not hit.any():
            continue
        fpr, tpr, _ = skm.roc_curve(hit, ranking[:, k])
        precision, recall, _ = skm.precision_recall_curve(hit, ranking[:, k])
        fpr_t, tpr_t = _thin(fpr, tpr)
        rec_t, prec_t = _thin(recall, precision)
        roc[str(classes[k])] = {"fpr": fpr_t, "tpr": tpr_t, "auc": float(skm.auc(fpr, tpr))}
        gains[str(classes[k])] = gains_curve(hit, ranking[:, k])
        pr[str(classes[k])] = {"recall": rec_t, "precision": prec_t,
                               "average_precision": float(skm.average_precision_score(hit, ranking[:, k]))}
    curves: dict[str, Any] = {"roc": roc, "pr": pr, "gains": gains}
    if proba is not None and len(classes) == 2:
        curves["calibration"] = _calibration(y == classes[1], proba[:, 1], "positive_class")
    elif proba is not None:  # one curve for many classes: the confidence of the top class against how often it is right
        top = proba.argmax(axis=1)
        curves["calibration"] = _calibration(np.asarray(classes, dtype=object)[top] == y, proba.max(axis=1),
                                             "top_label")
    return curves


def gains_curve(hit: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    """Cumulative gains: rows taken from the highest score down, and the share of the positives they catch.

    Tied scores are taken together (one point per distinct score, as ``roc_curve``); lift is ``captured / taken``.
    """
    fpr, tpr, _ = skm.roc_curve(hit, score, drop_intermediate=False)
    positives = int(np.sum(hit))
    taken = (tpr * positives + fpr * (len(hit) - positives)) / len(hit)
    taken_t, captured_t = _thin(taken, tpr)
    return {"taken": taken_t, "captured": captured_t, "positive_share": positives / len(hit)}


def cutoff_table(hit: np.ndarray, score: np.ndarray, probability: bool) -> dict[str, Any]:
    """Confusion counts at ~``N_CUTOFFS`` cut-offs, so that a slider can move the cut-off without the model.

    A row counts as predicted positive when ``score >= threshold`` (``roc_curve``'s convention). Probabilities get
    evenly spaced cut-offs in [0, 1] and the default 0.5; decision scores get their quantiles and the default 0.

    Returns:
        ``{"threshold", "tp", "fp", "tn", "fn", "default", "score"}``, lists of equal length (at most
        ``N_CUTOFFS + 1``).
    """
    hit, score = np.asarray(hit, dtype=bool), np.asarray(score, dtype=float)
    if probability:
        # rounded, so that a cut-off of 0.07 is the double a user (or a rounded score) means by 0.07
        cuts, default = np.round(np.linspace(0.0, 1.0, N_CUTOFFS), 9), 0.5
    else:
        default = 0.0
        cuts = np.unique(np.append(np.quantile(score, np.linspace(0.0, 1.0, N_CUTOFFS)), default))
    positive, negative = np.sort(score[hit]), np.sort(score[~hit])
    tp = len(positive) - np.searchsorted(positive, cuts, side="left")
    fp = len(negative) - np.searchsorted(negative, cuts, side="left")
    return {"threshold": cuts.tolist(), "tp": tp.tolist(), "fp": fp.tolist(), "tn": (len(negative) - fp).tolist(),
            "fn": (len(positive) - tp).tolist(), "default": default,
            "score": "probability" if probability else "decision score"}


def warnings_for(block: dict[str, Any], baseline_metrics: dict[str, Any] | None) -> list[dict[str, Any]]:
    """What a headline metric hides: a rare class, a class the model mostly misses, a model no better than the
    baseline. Each warning is ``{"code", "message"}`` plus the numbers behind it.

    Args:
        block: the quality block (``metrics``, and ``per_class`` for classifiers).
        baseline_metrics: the baseline's metrics on the same rows.
    """
    out: list[dict[str, Any]] = []
    metrics, base = block.get("metrics") or {}, baseline_metrics or {}
    per_class = {c: s for c, s in (block.get("per_class") or {}).items() if s["support"] > 0}
    total = sum(s["support"] for s in per_class.values())
    names = block.get("class_names") or {}

    def name(c: str) -> str:
        return f"class {c}" + (f" ({names[c]})" if names.get(c) else "")

    if len(per_class) > 1:
        rare = min(per_class, key=lambda c: per_class[c]["support"])
        share = per_class[rare]["support"] / total
        if share < MINORITY_SHARE:
            out.append({"code": "minority_class", "class": rare, "share": share,
                        "message": f"Imbalanced labels: {name(rare)} is {100 * share:.3g}% of the {total} labelled "
                                   "rows, so accuracy says little; read balanced accuracy and recall per class."})
        best = max(per_class, key=lambda c: per_class[c]["recall"])
        for c, s in per_class.items():
            if s["recall"] < RECALL_GAP * per_class[best]["recall"]:
                out.append({"code": "low_recall", "class": c, "recall": s["recall"],
                            "best_recall": per_class[best]["recall"],
                            "message": f"The model misses most of {name(c)}: recall {s['recall']:.3g} against "
                                       f"{per_class[best]['recall']:.3g} for {name(best)}."})
    for metric, what in (("balanced_accuracy", "predicting the majority class"), ("r2", "predicting the mean")):
        value, reference = metrics.get(metric), base.get(metric)
        if value is not None and reference is not None and value <= reference + 0.05:
            out.append({"code": "near_baseline", "metric": metric, "value": value, "baseline": reference,
                        "message": f"{'Balanced accuracy' if metric != 'r2' else 'R²'} {value:.3g} is barely better "
                                   f"than always {what} ({reference:.3g})."})
    return out


def _plot_value(value: Any) -> Any:
    """A value to plot: None for missing, floats to 4 significant digits, anything else as is."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, float) and not np.isfinite(value):
        return None
    return float(f"{value:.4g}") if isinstance(value, float) else value


def regression_quality(y: np.ndarray, pred: np.ndarray, n_boot: int = N_BOOT, seed: int = 0,
                       features: pd.DataFrame | None = None) -> dict[str, Any]:
    """MAE, RMSE, R², MAPE, downsampled residuals and bootstrap intervals.

    Args:
        features: the rows' raw features; the first ``MAX_RESIDUAL_FEATURES`` columns are kept beside the
            downsampled residuals (residuals by feature).

    Returns:
        ``{"metrics", "residuals", "ci", "bootstrap"}`` (see ``classification_quality``).
    """
    y, pred = np.asarray(y, dtype=float), np.asarray(pred, dtype=float).ravel()
    m = {"mae": skm.mean_absolute_error(y, pred), "rmse": skm.root_mean_squared_error(y, pred),
         "r2": skm.r2_score(y, pred) if len(y) > 1 else None, "mape": skm.mean_absolute_percentage_error(y, pred)}
    residual = y - pred
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(y), MAX_RESIDUALS, replace=False)) if len(y) > MAX_RESIDUALS else np.arange(len(y))
    residuals = {"predicted": pred[keep].tolist(), "actual": y[keep].tolist(), "residual": residual[keep].tolist(),
                 "mean": float(residual.mean()), "std": float(residual.std())}
    if features is not None:  # for plotting only: numbers to 4 significant digits keep the Result small
        kept = features.iloc[keep, :MAX_RESIDUAL_FEATURES]
        residuals["features"] = {str(c): [_plot_value(v) for v in kept[c].tolist()] for c in kept.columns}
    boot = bootstrap_regression(y, pred, n_boot, seed) if n_boot and len(y) > 1 else {"ci": {}}
    return {"metrics": {k: (float(v) if v is not None else None) for k, v in m.items()},
            "residuals": residuals, "ci": boot.pop("ci"), "bootstrap": boot or None}


def baseline(y: np.ndarray, task: str, classes: list[Any] | None = None) -> dict[str, Any]:
    """What a model that ignores its input scores on the same labelled rows: the bar a real model must clear.

    A ``DummyClassifier`` (``prior``: the majority class, the class shares as probabilities) or a
    ``DummyRegressor`` (``mean``) is fitted on ``y`` itself and scored with the same metrics as the model.

    Args:
        y: the labels (each one of ``classes`` for classification).
        task: ``classification`` or ``regression``.
        classes: the model's ``classes_`` (the probability columns follow them).

    Returns:
        ``{"strategy", "metrics"}``.
    """
    X = np.zeros((len(y), 1))
    if task == "classification":
        classes = list(classes or [])
        dummy = DummyClassifier(strategy="prior").fit(X, y)
        fitted = dummy.predict_proba(X)
        proba = np.zeros((len(y), len(classes)))
        for k, c in enumerate(classes):  # classes absent from y get probability 0
            hits = np.flatnonzero(dummy.classes_ == c)
            if hits.size:
                proba[:, k] = fitted[:, hits[0]]
        body = classification_quality(y, dummy.predict(X), proba, classes, n_boot=0)
        return {"strategy": "prior (majority class)", "metrics": body["metrics"]}
    y = np.asarray(y, dtype=float)
    pred = DummyRegressor(strategy="mean").fit(X, y).predict(X)
    return {"strategy": "mean", "metrics": regression_quality(y, pred, n_boot=0)["metrics"]}


def evaluate(model: Any, info: dict[str, Any], frame: pd.DataFrame, target: str, n_boot: int = N_BOOT,
             seed: int = 0, class_names: dict[str, str] | None = None) -> dict[str, Any]:
    """Score the model on a labelled frame.

    Args:
        model: the loaded model.
        info: its introspection (``task``, ``classes``, ``has_predict_proba``, ``feature_names``).
        frame: rows with the model's features and the ``target`` column.
        target: the label column.
        n_boot: bootstrap resamples for the intervals.
        seed: the bootstrap's seed.
        class_names: readable names of the classes (``{"0": "malignant"}``), shown beside them.

    Returns:
        ``{"task", "n_rows", "metrics", "baseline", "warnings", ...}`` (see ``classification_quality`` /
        ``regression_quality``, ``baseline`` and ``warnings_for``), with ``dropped_rows`` counting rows without a
        label or with a label that is not one of the model's classes.
    """
    missing = [name for name in info.get("feature_names") or [] if name not in frame.columns]
    if missing:
        raise ValueError(f"the labelled data lacks {len(missing)} of the model's features ({', '.join(missing[:5])})")
    frame = frame[frame[target].notna()]
    task = info.get("task", "regression")
    dropped = 0
    if task == "classification":
        classes = list(info.get("classes") or getattr(model, "classes_", []))
        y = align_labels(frame[target].to_numpy(), classes)
        known = np.array([v is not None for v in y], dtype=bool)
        dropped = int((~known).sum())
        frame, y = frame[known], np.asarray(y[known].tolist())
    if not len(frame):
        known = f" (the model's classes: {', '.join(map(str, classes[:10]))})" if task == "classification" else ""
        raise ValueError(f"no row has a usable label in column {target!r}{known}")
    X = to_model_input(frame, info)
    pred = np.asarray(model.predict(X))
    if task == "classification":
        proba = np.asarray(model.predict_proba(X), dtype=float) if info.get("has_predict_proba") else None
        scores = None
        if proba is None and info.get("has_decision_function"):
            scores = np.asarray(model.decision_function(X), dtype=float)
        body = classification_quality(y, pred, proba, classes, n_boot, seed, scores)
        body["class_names"] = {str(c): str(class_names[str(c)]) for c in classes if str(c) in (class_names or {})}
        body["baseline"] = baseline(y, task, classes)
    else:
        y = frame[target].to_numpy(dtype=float)
        body = regression_quality(y, pred, n_boot, seed,
                                  frame[info.get("feature_names") or [c for c in frame.columns if c != target]])
        body["baseline"] = baseline(y, task)
    body["warnings"] = warnings_for(body, body["baseline"]["metrics"])
    return {"task": task, "n_rows": len(frame), **body, "dropped_rows": dropped}


def compute(ctx: SuiteContext) -> dict[str, Any] | None:
    """Quality on ``sample`` when it has the target, and on ``current`` too when it has it.

    Args:
        ctx: the suite context; ``config["quality"]["n_boot"]`` may change the resamples (default 1000) and
            ``config["quality"]["class_names"]`` name the classes.

    Returns:
        None without labels; else the contract's ``quality`` section (``task``, ``n_rows``, ``metrics``) plus
        ``per_class``, ``confusion_matrix``, ``curves`` or ``residuals``, ``ci``, ``evaluated_on`` and
        ``current`` (the same block for ``current``, or None).
    """
    target = ctx.target
    labelled = {name: frame for name, frame in (("sample", ctx.sample), ("current", ctx.current))
                if target and frame is not None and target in frame.columns}
    if not labelled:
        return None
    quality_config = ctx.config["quality"]
    n_boot = int(quality_config["n_boot"])
    seed = int(ctx.config["seed"])
    names = quality_config.get("class_names")
    blocks = {name: evaluate(ctx.model, ctx.info, frame, target, n_boot, seed, names)
              for name, frame in labelled.items()}
    first = "sample" if "sample" in blocks else "current"
    main = blocks[first]
    main["evaluated_on"] = first
    main["current"] = blocks.get("current") if first == "sample" else None
    return main
