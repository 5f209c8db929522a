"""What contract, CLI and gunicorn tests share: a config that makes a run take about a second, and helpers."""
from __future__ import annotations

import io
import json
from typing import Any

# the forest fixtures are fitted on arrays: their features are f0..f29
FAST_CONFIG: dict[str, Any] = {
    "n_samples": 50, "batch_sizes": [1],
    "drift": {"features": ["f0"], "kinds": ["mean_shift"], "severities": [1.0], "resamples": 0},
    "explain": {"max_samples": 5, "background": 5},
    "performance": {"latency_budget_s": 0.2, "error_budget_s": 0.2},
    "robustness": {"budget_s": 1}, "quality": {"n_boot": 0},
}
# with tests.factories.never_returning_onnx(), a run that can only end by its deadline
TIMEOUT_CONFIG = json.dumps({"n_samples": 50, "timeout_s": 1})
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
