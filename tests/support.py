"""Helpers for tests that need a server or a browser: skipped with a reason locally, failed in CI."""
from __future__ import annotations

import os
import pickle
import socket
from typing import Any

import pytest

# a run of the diabetes regressor in a few seconds: small data, one batch size, one drift scenario, few SHAP rows
QUICK_DIABETES_CONFIG = {"n_samples": 50, "batch_sizes": [1], "explain": {"max_samples": 5, "background": 5},
                         "drift": {"features": ["age"], "kinds": ["mean_shift"], "severities": [1.0]}}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: Any, reason: str) -> None:
    """Skip (locally) or fail (under CI=true) when a server or browser the test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dumps(model: Any) -> bytes:
    """Pickle a model the way a user would save it (tests are trusted code)."""
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
