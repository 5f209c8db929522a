"""Production monitoring as use cases: take a batch, compare it with the champion's reference, store its compact
profile (never its feature rows), join late labels by id, and serve the over-time series of the monitoring page."""
from __future__ import annotations

import io
import json
import zlib
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from modelwatch.core.monitoring import batches as monitoring
from modelwatch.core.sandbox.runner import run_task
from modelwatch.errors import BadRequest, ModelwatchError
from modelwatch.extensions import db
from modelwatch.models import utcnow
from modelwatch.models_monitoring import ModelVersion, MonitorBatch
from modelwatch.services import alerting, registry, webhooks
from modelwatch.services.artifacts import sandbox_limits
from modelwatch.services.memo import Memo


class NoChampion(ModelwatchError):
    code, status = "no_champion", 409
    __doc__ = "the model has no champion with a reference sample to compare batches with"


PREDICT_TIMEOUT_S = 120
REFERENCES = Memo(8)  # reference profiles by model version: rebuilt from the DB when dropped


def reference_of(version: ModelVersion) -> monitoring.Reference:
    """The version's reference profile, built once per process from its sample (profiles sort lazily, then keep)."""
    key = (version.id, version.artifact_id, version.created_at)  # ids alone repeat across databases (tests)
    return REFERENCES.get(key, lambda: monitoring.build_reference(pd.read_csv(io.BytesIO(version.reference_csv)),
                                                                   version.target))


def _pack(columns: dict[str, list]) -> bytes:
    return zlib.compress(json.dumps(columns, separators=(",", ":")).encode())


def _unpack(blob: bytes | None) -> dict[str, list]:
    return json.loads(zlib.decompress(blob)) if blob else {}


def _jsonable(values: pd.Series) -> list:
    return [None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in values]


def champion_predictions(version: ModelVersion, frame: pd.DataFrame, features: list[str]) -> pd.Series:
    """The champion's predictions for the batch's feature columns, computed in the sandbox (never in this process).

    Raises:
        BadRequest: the batch lacks a feature the model needs. ModelError and the other sandbox errors: the
            model failed on these rows.
    """
    missing = [name for name in features if name not in frame.columns]
    if missing:
        raise BadRequest("Predictions need every feature of the model; the batch lacks some.", {"missing": missing})
    csv = frame[features].to_csv(index=False).encode()
    result = run_task("predict", version.artifact.data, version.artifact.format, {"csv": "batch.csv"},
                      {"batch.csv": csv}, limits=sandbox_limits(PREDICT_TIMEOUT_S))
    return pd.Series(result["arrays"]["output"], index=frame.index)


def ingest_batch(name: str, data: bytes, filename: str = "", received: datetime | None = None,
                 predict: bool = False) -> MonitorBatch:
    """Profile a production batch against the champion's reference, store it, and evaluate the model's alerts.

    Args:
        predict: when the batch has no ``prediction`` column, compute it with the champion in the sandbox.

    Raises:
        NotFound: no such model. NoChampion: no champion with a reference sample yet. BadRequest: unreadable file.
    """
    model = registry.get_model(name)
    version, _ = registry.champion(model)
    if version is None or version.reference_csv is None:
        raise NoChampion(f"Model {name!r} has no champion with a reference sample: run a version with a sample "
                         "that passes, or choose a champion.", {"model": name})
    frame = monitoring.read_table(data, filename)
    task = (version.artifact.info or {}).get("task")
    reference = reference_of(version)
    if predict and "prediction" not in frame.columns:
        frame["prediction"] = champion_predictions(version, frame, list(reference.features.columns))
    compared = monitoring.compare_batch(reference, frame, task)
    received = received or utcnow()
    batch = MonitorBatch(model_id=model.id, version_id=version.id, received_at=received,
                         batch_time=monitoring.batch_time(frame) or received, n_rows=len(frame),
                         share_drifted=compared["summary"]["drift"]["share_drifted"],
                         dataset_drift=compared["summary"]["drift"]["dataset_drift"],
                         summary=compared["summary"], profile=compared["profile"],
                         **monitoring.series_columns(compared["summary"]))
    if "id" in frame.columns and "prediction" in frame.columns:
        batch.predictions = _pack({"id": [str(v) for v in frame["id"]], "prediction": _jsonable(frame["prediction"])})
    db.session.add(batch)
    db.session.flush()
    queued = alerting.evaluate(model, "batch", compared["summary"], batch_id=batch.id)
    db.session.commit()
    webhooks.dispatch(queued)
    return batch


def join_labels(name: str, data: bytes, filename: str = "") -> dict[str, Any]:
    """Join late labels (columns ``id``, ``label``) with the predictions of the model's batches by id, and
    recompute each touched batch's quality from all its labels so far.

    Returns:
        ``{"matched": n, "unmatched": n, "batches": [ids whose quality changed]}``.
    """
    model = registry.get_model(name)
    frame = monitoring.read_table(data, filename)
    if not {"id", "label"} <= set(frame.columns):
        raise BadRequest("Labels need an `id` and a `label` column.", {"columns": list(frame.columns)[:50]})
    pending = dict(zip((str(v) for v in frame["id"]), _jsonable(frame["label"])))
    touched = []
    batches = (MonitorBatch.query.filter(MonitorBatch.model_id == model.id, MonitorBatch.predictions.isnot(None))
               .order_by(MonitorBatch.id.desc()))
    task_of: dict[int, str | None] = {}
    matched = 0
    for batch in batches:
        if not pending:
            break
        pairs = _unpack(batch.predictions)
        joined = _unpack(batch.labels) or {"id": [], "label": []}
        known = dict(zip(joined["id"], joined["label"]))
        hits = {i: pending.pop(i) for i in pairs["id"] if i in pending}
        if not hits:
            continue
        matched += len(hits)
        known.update(hits)
        batch.labels = _pack({"id": list(known), "label": list(known.values())})
        pred = dict(zip(pairs["id"], pairs["prediction"]))
        ids = [i for i in known if i in pred]
        if batch.version_id not in task_of:
            version = db.session.get(ModelVersion, batch.version_id) if batch.version_id else None
            task_of[batch.version_id] = (version.artifact.info or {}).get("task") if version else None
        predictions = pd.Series([pred[i] for i in ids]).to_numpy()
        labels = pd.Series([known[i] for i in ids]).to_numpy()
        batch.summary = {**batch.summary,
                         "quality": monitoring.quality(predictions, labels, task_of[batch.version_id])}
        batch.quality = batch.summary["quality"].get("metrics")
        touched.append(batch)
    queued = alerting.on_late_labels(model, touched)  # quality rules see the batches' new quality
    db.session.commit()
    webhooks.dispatch(queued)
    return {"matched": matched, "unmatched": len(pending), "batches": sorted(b.id for b in touched)}


def list_batches(name: str, limit: int, cursor: int | None = None) -> tuple[list[MonitorBatch], int | None]:
    """A page of the model's batches, newest first; the cursor is the last id seen."""
    model = registry.get_model(name)
    query = MonitorBatch.query.filter(MonitorBatch.model_id == model.id)
    if cursor is not None:
        query = query.filter(MonitorBatch.id < cursor)
    found = query.order_by(MonitorBatch.id.desc()).limit(limit + 1).all()
    more = len(found) > limit
    found = found[:limit]
    return found, (found[-1].id if more else None)


def batch_dict(batch: MonitorBatch, with_profile: bool = False) -> dict[str, Any]:
    item = {"id": batch.id, "batch_time": batch.batch_time.isoformat() + "Z",
            "received_at": batch.received_at.isoformat() + "Z", "n_rows": batch.n_rows, **batch.summary}
    if with_profile:
        item["profile"] = batch.profile
    return item


def series(name: str, limit: int = 10_000) -> dict[str, Any]:
    """What the monitoring page draws, oldest first, as arrays: batch times, drift share, dataset drift, the
    feature x batch drift flags (-1 where a batch was compared on other features), mean prediction, prediction
    drift, quality metrics. Only plain columns are read: profiles, summaries and id pairs stay unloaded."""
    model = registry.get_model(name)
    rows = db.session.execute(
        db.select(MonitorBatch.batch_time, MonitorBatch.share_drifted, MonitorBatch.dataset_drift,
                  MonitorBatch.drift_flags, MonitorBatch.prediction_mean, MonitorBatch.prediction_drift,
                  MonitorBatch.quality)
        .where(MonitorBatch.model_id == model.id)
        .order_by(MonitorBatch.batch_time.desc(), MonitorBatch.id.desc()).limit(limit)
    ).all()[::-1]
    latest = MonitorBatch.query.filter_by(model_id=model.id).order_by(MonitorBatch.batch_time.desc(),
                                                                     MonitorBatch.id.desc()).first()
    features = sorted(latest.summary["drift"]["features"]) if latest is not None else []
    texts = [row.drift_flags if len(row.drift_flags) == len(features) else "/" * len(features) for row in rows]
    codes = np.frombuffer("".join(texts).encode(), dtype=np.uint8).astype(np.int8) - ord("0")  # "/" becomes -1
    flags = codes.reshape(len(rows), len(features)).T
    metrics = sorted({m for row in rows if row.quality for m in row.quality})
    return {
        "model": name, "features": features, "flags": flags,
        "times": np.array([row.batch_time for row in rows], dtype="datetime64[ms]"),
        "share_drifted": np.array([row.share_drifted for row in rows], dtype=float),
        "dataset_drift": np.array([row.dataset_drift for row in rows], dtype=bool),
        "prediction_mean": np.array([row.prediction_mean for row in rows], dtype=float),
        "prediction_drift": np.array([row.prediction_drift for row in rows], dtype=float),
        "quality": {m: np.array([(row.quality or {}).get(m) for row in rows], dtype=float) for m in metrics},
    }
