"""Helpers for tests that need a server or a browser: skipped with a reason locally, failed in CI."""
from __future__ import annotations

import io
import os
import pickle
import socket
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest
from sqlalchemy import create_engine, text

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


def per_worker(url: str | None) -> str | None:
    """The shared server's URL with this pytest-xdist worker's own database (``make test`` runs two workers side by
    side: one PostgreSQL database per worker, created on first use; Redis database index 1 + the worker's number),
    so that one worker's ``drop_all`` or Celery worker never meets the other's tables or tasks."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    parts = urlsplit(url)
    if parts.scheme.startswith("redis"):
        return urlunsplit(parts._replace(path=f"/{1 + int(worker.removeprefix('gw'))}"))
    name = f"{parts.path.lstrip('/')}_{worker}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return urlunsplit(parts._replace(path=f"/{name}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dumps(model: Any) -> bytes:
    """Pickle a model the way a user would save it (tests are trusted code)."""
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def npy(X: Any) -> bytes:
    """An array as the sandbox's ``predict`` task reads it: a ``.npy`` file without pickled objects."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(X), allow_pickle=False)
    return buffer.getvalue()
