"""Finished runs written straight to the database, with results whose figures are known (no sandbox needed)."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from modelwatch.extensions import db
from modelwatch.models import ModelArtifact, Run, utcnow


def result(p95_1: float, p95_100: float, throughput_100: float, error_rate: float, passed: int, accuracy: float,
           log_loss: float, shift_a: float, importance: dict[str, float]) -> dict[str, Any]:
    """A small classification Result: two batch sizes, ten robustness cases (``passed`` ok, one rejected, the rest
    crashed), two drift scenarios."""
    return {
        "data": {"n_samples": 100, "seed": 0, "generator": "independent"},
        "performance": {"latency_ms": {"1": {"p50": 1.0, "p95": p95_1, "p99": p95_1 * 1.2, "max": 9.0, "mean": 1.1,
                                             "n_calls": 50},
                                       "100": {"p50": 5.0, "p95": p95_100, "p99": p95_100 * 1.2, "max": 20.0,
                                               "mean": 5.5, "n_calls": 50}},
                        "throughput_rows_per_s": {"1": 500.0, "100": throughput_100}, "error_rate": error_rate,
                        "errors": []},
        "robustness": {"passed": passed, "total": 10, "cases": [],
                       "outcomes": {"ok": passed, "rejected": 1, "degraded": 0, "crashed": 9 - passed}},
        "quality": {"task": "classification", "n_rows": 100, "metrics": {"accuracy": accuracy, "log_loss": log_loss}},
        "drift": {"scenarios": [
            {"feature": "a", "kind": "mean_shift", "severity": 1.0, "prediction_shift": shift_a, "flip_rate": 0.1,
             "accuracy_drop": 0.05, "drift_detected": True},
            {"feature": "b", "kind": "mean_shift", "severity": 1.0, "prediction_shift": -0.1, "flip_rate": 0.1,
             "accuracy_drop": 0.05, "drift_detected": False}], "current": None},
        "explainability": {"explainer": "TreeExplainer", "base_value": 0.5,
                           "feature_importance": [{"feature": f, "mean_abs_shap": v} for f, v in importance.items()]},
    }


V1 = result(p95_1=2.0, p95_100=8.0, throughput_100=20000.0, error_rate=0.0, passed=8, accuracy=0.90, log_loss=0.30,
            shift_a=0.2, importance={"a": 0.5, "b": 0.2})
V2 = result(p95_1=1.5, p95_100=10.0, throughput_100=25000.0, error_rate=0.02, passed=9, accuracy=0.95,
            log_loss=0.25, shift_a=-0.3, importance={"a": 0.4, "b": 0.3})


def add_run(name: str, result_doc: dict[str, Any] | None, status: str = "succeeded", minutes_ago: int = 0,
            source: str = "api") -> Run:
    """A finished run of a (fake, never executed) artifact named after the run."""
    sha = hashlib.sha256(name.encode()).hexdigest()
    artifact = ModelArtifact.query.filter_by(sha256=sha).one_or_none() or ModelArtifact(
        sha256=sha, name=name, filename=f"{name}.pkl", format="pickle", size=3, data=b"abc",
        info={"type": "sklearn.ensemble.RandomForestClassifier", "task": "classification", "n_features": 2,
              "feature_names": ["a", "b"], "classes": [0, 1]})
    created = utcnow() - timedelta(minutes=minutes_ago)
    run = Run(artifact=artifact, name=name, status=status, stage="done", progress=1.0, source=source,
              schema={"schema_version": 1, "features": [{"name": n, "type": "float"} for n in ("a", "b")]},
              config={"n_samples": 100, "seed": 0}, result=result_doc, created_at=created, started_at=created,
              finished_at=created + timedelta(seconds=12))
    db.session.add(run)
    db.session.commit()
    return run
