"""What tests build rather than fit: artifact and run rows written straight to the database, Result documents whose
figures are known, and hand-made model files (a pickle that must be refused, an ONNX model that never returns).

Models fitted on sklearn's datasets are fixtures (tests/conftest.py); these builders need no sandbox.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pickle
from datetime import timedelta
from typing import Any

import numpy as np
from onnx import TensorProto, helper
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

from modelwatch.extensions import db
from modelwatch.models import ModelArtifact, Run, utcnow

FINISHED = ("succeeded", "failed")


# --- rows --------------------------------------------------------------------------------------------------------

def stored_artifact(name: str = "m", data: bytes = b"-", **fields: Any) -> ModelArtifact:
    """An artifact row that is never executed (``data`` is a placeholder unless a test reads it); the same name and
    bytes give the same row."""
    sha = hashlib.sha256(name.encode() + b"\0" + data).hexdigest()
    found = db.session.execute(db.select(ModelArtifact).filter_by(sha256=sha)).scalar_one_or_none()
    if found is not None:
        return found
    artifact = ModelArtifact(sha256=sha, name=name, filename=f"{name}.pkl", format="pickle", size=len(data),
                             data=data, **fields)
    db.session.add(artifact)
    db.session.commit()
    return artifact


def stored_run(artifact: ModelArtifact, name: str = "r", status: str = "succeeded", **fields: Any) -> Run:
    """A run row as an execution would have left it: a finished one (``succeeded``/``failed``) is at stage ``done``
    with its progress full and its times set, unless ``fields`` say otherwise."""
    if status in FINISHED:
        now = utcnow()
        fields = {"stage": "done", "progress": 1.0, "started_at": now, "finished_at": now, **fields}
    run = Run(artifact=artifact, name=name, status=status, **{"schema": {}, "config": {}, **fields})
    db.session.add(run)
    db.session.commit()
    return run


# --- Result documents with known figures ------------------------------------------------------------------------

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
    """A finished run, 12 s long, of a (fake, never executed) two-feature forest named after the run."""
    artifact = stored_artifact(name, b"abc", info={
        "type": "sklearn.ensemble.RandomForestClassifier", "task": "classification", "n_features": 2,
        "feature_names": ["a", "b"], "classes": [0, 1]})
    created = utcnow() - timedelta(minutes=minutes_ago)
    return stored_run(artifact, name, status, source=source, result=result_doc,
                      schema={"schema_version": 1, "features": [{"name": n, "type": "float"} for n in ("a", "b")]},
                      config={"n_samples": 100, "seed": 0}, created_at=created, started_at=created,
                      finished_at=created + timedelta(seconds=12))


# --- model files ---------------------------------------------------------------------------------------------------

def unsafe_pickle() -> bytes:
    """A pickle that would call os.system if it were ever unpickled (the static scan must refuse it)."""
    class Evil:
        def __reduce__(self):
            return os.system, ("true",)

    return pickle.dumps(Evil(), protocol=4)


@functools.lru_cache(maxsize=1)
def never_returning_onnx() -> bytes:
    """A breast-cancer logistic regression as ONNX that answers one row at once and never returns on more: a Loop
    of (rows - 1) * 2**50 empty steps sits before it. Inspection calls it on one row; a run's first batch of several
    rows hits the run's deadline on any machine, however fast or loaded."""
    X, y = load_breast_cancer(return_X_y=True)
    model = LogisticRegression(max_iter=5000).fit(X, y)
    weights = np.hstack([-model.coef_.T, model.coef_.T]).astype(np.float32)
    bias = np.array([-model.intercept_[0], model.intercept_[0]], np.float32)
    F, I64 = TensorProto.FLOAT, TensorProto.INT64
    constants = [helper.make_tensor("W", F, weights.shape, weights.ravel()), helper.make_tensor("B", F, [2], bias),
                 helper.make_tensor("first", I64, [1], [0]), helper.make_tensor("one", I64, [], [1]),
                 helper.make_tensor("forever", I64, [], [1 << 50]), helper.make_tensor("zero", F, [], [0.0]),
                 helper.make_tensor("true", TensorProto.BOOL, [], [True])]
    step = helper.make_graph(
        [helper.make_node("Constant", [], ["go_on"], value=helper.make_tensor("t", TensorProto.BOOL, [], [True])),
         helper.make_node("Add", ["x_in", "zero"], ["x_out"])], "step",
        [helper.make_tensor_value_info("i", I64, []), helper.make_tensor_value_info("go", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x_in", F, ["N", 30])],
        [helper.make_tensor_value_info("go_on", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x_out", F, ["N", 30])])
    nodes = [helper.make_node("Shape", ["X"], ["shape"]), helper.make_node("Gather", ["shape", "first"], ["rows1"]),
             helper.make_node("ReduceMax", ["rows1"], ["rows"], keepdims=0),
             helper.make_node("Sub", ["rows", "one"], ["extra"]), helper.make_node("Mul", ["extra", "forever"], ["n"]),
             helper.make_node("Loop", ["n", "true", "X"], ["X_after"], body=step),
             helper.make_node("Gemm", ["X_after", "W", "B"], ["z"]), helper.make_node("Softmax", ["z"], ["p"])]
    graph = helper.make_graph(nodes, "never_returns", [helper.make_tensor_value_info("X", F, ["N", 30])],
                              [helper.make_tensor_value_info("p", F, ["N", 2])], constants)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()
