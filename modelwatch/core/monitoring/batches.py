"""Production batches compared with a reference: per-column drift (the drift module's profiles and tests), dataset
drift, missing shares, prediction drift and quality, kept as a compact profile whose size does not grow with rows.

A batch's optional columns: ``prediction`` (the model's output), ``label`` (the truth), ``timestamp`` (when the rows
were scored) and ``id`` (to join labels that arrive later).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.drift.detect import detect_column, detect_frame
from modelwatch.core.drift.profile import (
    NUMERIC,
    CategoricalReference,
    NumericReference,
    ReferenceProfile,
    finite_values,
    profile,
)
from modelwatch.errors import BadRequest

SPECIAL = ("prediction", "label", "timestamp", "id")
TOP_CATEGORIES = 10
PARQUET_MAGIC = b"PAR1"


@dataclass
class Reference:
    """The champion's reference: its feature profile, and what predictions are compared with."""

    features: ReferenceProfile
    prediction: NumericReference | CategoricalReference | None
    prediction_against: str | None  # "reference predictions" or "reference labels"


def read_table(data: bytes, filename: str = "") -> pd.DataFrame:
    """A CSV or Parquet upload as a frame (Parquet by its magic bytes or name).

    Raises:
        BadRequest: the file is empty or not readable as either.
    """
    if not data:
        raise BadRequest("The batch file is empty.", {"field": "data"})
    try:
        if data[:4] == PARQUET_MAGIC or filename.lower().endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(data))
        return pd.read_csv(io.BytesIO(data))
    except Exception as exc:  # pandas and pyarrow raise many types for a malformed file
        raise BadRequest(f"The batch file is neither valid CSV nor Parquet: {exc}.", {"field": "data"}) from exc


def build_reference(frame: pd.DataFrame, target: str | None = None) -> Reference:
    """The reference of a model version from its sample: features profiled; predictions compared with the sample's
    ``prediction`` column, else with its labels (the target column)."""
    against = "prediction" if "prediction" in frame.columns else target if target in frame.columns else None
    features = [c for c in frame.columns if c not in SPECIAL and c != target]
    pred = profile(frame[[against]]).columns[against] if against else None
    label = None if against is None else ("reference predictions" if against == "prediction" else "reference labels")
    return Reference(features=profile(frame[features]), prediction=pred, prediction_against=label)


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _column_stats(series: pd.Series, kind: str) -> dict[str, Any]:
    if kind == NUMERIC:
        values = finite_values(series)
        if values.size == 0:
            return {}
        return {"mean": _num(values.mean()), "std": _num(values.std()), "min": _num(values.min()),
                "max": _num(values.max())}
    shares = series.value_counts(normalize=True, dropna=True).head(TOP_CATEGORIES)
    return {"top": {str(k): float(v) for k, v in shares.items()}}


def _compact(test: dict[str, Any]) -> dict[str, Any]:
    keep = ("test", "statistic", "p_value", "threshold", "drift_detected", "missing_share_current")
    return {k: (_num(test[k]) if isinstance(test.get(k), float) else test.get(k)) for k in keep if k in test}


def _prediction(reference: Reference, series: pd.Series) -> dict[str, Any]:
    kind = NUMERIC if pd.api.types.is_float_dtype(series) else "categorical"
    section: dict[str, Any] = _column_stats(series, kind)
    if reference.prediction is not None:
        drift = detect_column(reference.prediction, series)
        section["drift"] = {**_compact(drift), "against": reference.prediction_against}
    return section


def quality(prediction: np.ndarray, label: np.ndarray, task: str | None) -> dict[str, Any]:
    """Metrics on labelled rows: accuracy and F1 macro for classification, MAE, RMSE and R² for regression."""
    from sklearn import metrics

    keep = pd.notna(prediction) & pd.notna(label)
    prediction, label = prediction[keep], label[keep]
    if prediction.size == 0:
        return {"n_labelled": 0}
    classify = task == "classification" if task else not np.issubdtype(np.asarray(prediction).dtype, np.floating)
    if classify:
        pred, true = prediction.astype(str), label.astype(str)
        values = {"accuracy": metrics.accuracy_score(true, pred),
                  "f1_macro": metrics.f1_score(true, pred, average="macro", zero_division=0)}
    else:
        pred, true = prediction.astype(float), label.astype(float)
        values = {"mae": metrics.mean_absolute_error(true, pred),
                  "rmse": math.sqrt(metrics.mean_squared_error(true, pred))}
        if true.size > 1:
            values["r2"] = metrics.r2_score(true, pred)
    return {"n_labelled": int(prediction.size), "metrics": {k: _num(v) for k, v in values.items()}}


def batch_time(frame: pd.DataFrame) -> pd.Timestamp | None:
    """The latest ``timestamp`` of the batch (naive UTC), or None without a usable column."""
    if "timestamp" not in frame.columns:
        return None
    stamps = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True).dropna()
    return stamps.max().tz_convert(None) if len(stamps) else None


def series_columns(summary: dict[str, Any]) -> dict[str, Any]:
    """The plain values the over-time views read: drift flags ("1"/"0" per feature, sorted by name), the mean
    prediction, the prediction drift statistic and the quality metrics."""
    features = summary["drift"]["features"]
    prediction = summary.get("prediction") or {}
    return {"drift_flags": "".join("1" if features[name][0] else "0" for name in sorted(features)),
            "prediction_mean": prediction.get("mean"), "prediction_drift": (prediction.get("drift") or {}).get(
                "statistic"), "quality": (summary.get("quality") or {}).get("metrics")}


def compare_batch(reference: Reference, frame: pd.DataFrame, task: str | None = None) -> dict[str, Any]:
    """Compare one batch with the reference.

    Args:
        reference: from ``build_reference``.
        frame: the batch: the model's features and optionally ``prediction``, ``label``, ``timestamp``, ``id``.
        task: ``classification`` or ``regression`` (guessed from the predictions when None).

    Returns:
        ``{"summary": {...}, "profile": {...}}``: the summary (``n_rows``, ``drift``, ``missing``, ``prediction``,
        ``quality``; what alert rules and the over-time views read) and the per-column profile.

    Raises:
        BadRequest: the batch has none of the reference's features.
    """
    names = [c for c in reference.features.columns if c in frame.columns]
    if not names:
        raise BadRequest("The batch has none of the model's features.",
                         {"expected": list(reference.features.columns)[:50], "got": list(frame.columns)[:50]})
    drift = detect_frame(reference.features, frame, columns=names)
    columns = {}
    for test in drift["columns"]:
        kind = reference.features.kinds[test["feature"]]
        columns[test["feature"]] = {"kind": kind, **_compact(test), **_column_stats(frame[test["feature"]], kind)}
    missing = {name: col.get("missing_share_current") or 0.0 for name, col in columns.items()}
    summary: dict[str, Any] = {
        "n_rows": int(len(frame)),
        "drift": {"share_drifted": float(drift["share_drifted"]), "n_drifted": int(drift["n_drifted"]),
                  "dataset_drift": bool(drift["dataset_drift"]),
                  "features": {name: [bool(col.get("drift_detected")), col.get("statistic")]
                               for name, col in columns.items()}},
        "missing": {"max_share": max(missing.values()), "absent_features":
                    [c for c in reference.features.columns if c not in frame.columns]},
    }
    if "prediction" in frame.columns:
        summary["prediction"] = _prediction(reference, frame["prediction"])
    if "prediction" in frame.columns and "label" in frame.columns:
        summary["quality"] = quality(frame["prediction"].to_numpy(), frame["label"].to_numpy(), task)
    return {"summary": summary, "profile": {"columns": columns}}
