"""What contract, CLI and gunicorn tests share: a config that makes a run take about a second, and helpers."""
from __future__ import annotations

import functools
import io
import json
import os
import pickle
from typing import Any

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.neighbors import KNeighborsClassifier

# the forest fixtures are fitted on arrays: their features are f0..f29
FAST_CONFIG: dict[str, Any] = {
    "n_samples": 50, "batch_sizes": [1],
    "drift": {"features": ["f0"], "kinds": ["mean_shift"], "severities": [1.0], "resamples": 0},
    "explain": {"max_samples": 5, "background": 5},
    "performance": {"latency_budget_s": 0.2, "error_budget_s": 0.2},
    "robustness": {"budget_s": 1}, "quality": {"n_boot": 0},
}
# one 100,000-row call of a brute-force KNN takes seconds: more than the 1 s this config allows
TIMEOUT_CONFIG = json.dumps({"n_samples": 100_000, "batch_sizes": [100_000], "timeout_s": 1})
PASSING_GATES = {"performance.error_rate": {"max": 0.0}, "performance.latency_ms.1.p95": {"max": 60_000}}
FAILING_GATES = {"performance.throughput_rows_per_s.1": {"min": 1e12}}


def fast_config(**overrides: Any) -> str:
    return json.dumps({**FAST_CONFIG, **overrides})


def submit(client, data: bytes, filename: str = "model.pkl", query: str = "?wait=60", headers=None, **fields):
    """POST /run_tests through a Flask test client."""
    form = {"model": (io.BytesIO(data), filename), **fields}
    return client.post(f"/run_tests{query}", data=form, content_type="multipart/form-data", headers=headers or {})


def assert_error(response, status: int, code: str) -> dict:
    """The response is the contract's error body with this status and code; returns the error."""
    status_code = getattr(response, "status_code", None)
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    assert status_code == status, body
    assert set(body) == {"error"} and body["error"]["code"] == code, body
    assert body["error"]["message"] and isinstance(body["error"]["details"], dict)
    return body["error"]


def unsafe_pickle() -> bytes:
    """A pickle that would call os.system if it were ever unpickled (the static scan must refuse it)."""
    class Evil:
        def __reduce__(self):
            return os.system, ("true",)

    return pickle.dumps(Evil(), protocol=4)


@functools.lru_cache(maxsize=1)
def slow_model_bytes() -> bytes:
    """A brute-force nearest-neighbours classifier over 11,000 rows: slow on large batches by construction."""
    X, y = load_breast_cancer(return_X_y=True)
    rng = np.random.default_rng(0)
    repeated = np.tile(X, (20, 1)) * rng.normal(1.0, 0.01, (len(X) * 20, X.shape[1]))
    return pickle.dumps(KNeighborsClassifier(algorithm="brute").fit(repeated, np.tile(y, 20)))
