"""The app's settings, read from the environment (tests pass their own settings class to the factory).

"Settings" is the server's configuration; a run's own options are its Config document (``core.config``)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from modelwatch.core.sandbox import runner as sandbox
from modelwatch.core.sandbox.privileges import Identity


def database_url(default: str) -> str:
    """``DATABASE_URL`` with Heroku's ``postgres://`` rewritten for SQLAlchemy and psycopg 3."""
    url = os.environ.get("DATABASE_URL") or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Settings:
    """Development defaults: embedded SQLite in the instance folder, an in-process thread pool."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI: str | None = None  # resolved in create_app: needs the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MAX_UPLOAD_MB = int(os.environ.get("MODELWATCH_MAX_UPLOAD_MB", "200"))
    MAX_FEATURES = int(os.environ.get("MODELWATCH_MAX_FEATURES", "2000"))  # wider models are refused at upload
    BROKER_URL = os.environ.get("MODELWATCH_BROKER_URL")
    EXECUTOR = os.environ.get("MODELWATCH_EXECUTOR", "threads")  # threads | inline | celery
    EXECUTOR_WORKERS = int(os.environ.get("MODELWATCH_WORKERS", "2"))
    SANDBOX_MEMORY_MB = int(os.environ.get("MODELWATCH_SANDBOX_MEMORY_MB", "2048"))
    # operator switches: models with custom classes load without the allowlist (still sandboxed, the Run says so);
    # "0" starts a fresh sandbox interpreter per task instead of forking the warm worker
    TRUST_PICKLES = os.environ.get("MODELWATCH_TRUST_PICKLES", "") == "1"
    SANDBOX_WARM = os.environ.get("MODELWATCH_SANDBOX_WARM", "1") != "0"
    # what the numeric libraries need on this hardware (OpenBLAS core type, locale), forwarded to the sandbox
    SANDBOX_ENV = {k: os.environ[k] for k in sandbox.PASSED_ENV if k in os.environ}
    # who models run as when the server runs as root; "1" lets them run as root (recorded in every Run)
    SANDBOX_USER = os.environ.get("MODELWATCH_SANDBOX_USER", "modelwatch-sandbox")
    SANDBOX_ALLOW_INSECURE = os.environ.get("MODELWATCH_SANDBOX_ALLOW_INSECURE", "") == "1"
    SANDBOX_MAX_RESULT_MB = int(os.environ.get("MODELWATCH_SANDBOX_MAX_RESULT_MB", "16"))
    # where warm workers keep numba's compiled code between starts ("" for none); used only where no sandboxed
    # child can write it (core.sandbox.numba_cache)
    SANDBOX_NUMBA_CACHE = os.environ.get(
        "MODELWATCH_SANDBOX_NUMBA_CACHE",
        os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "modelwatch", "numba"))
    # ?wait is capped below routers' 30 s request limit; at most WAIT_SLOTS requests of a process wait at once
    MAX_WAIT_S = float(os.environ.get("MODELWATCH_MAX_WAIT_S", "25"))
    WAIT_SLOTS = int(os.environ.get("MODELWATCH_WAIT_SLOTS", "4"))
    # recovery (execution/recovery.py): janitor period, a queued run re-sent after, attempts after infrastructure
    # losses, the heartbeat silence that means a lost worker, how long a database blip is retried during a run
    RECOVERY_INTERVAL_S = float(os.environ.get("MODELWATCH_RECOVERY_INTERVAL_S", "10"))
    REDISPATCH_S = float(os.environ.get("MODELWATCH_REDISPATCH_S", "120"))
    RUN_MAX_ATTEMPTS = int(os.environ.get("MODELWATCH_RUN_MAX_ATTEMPTS", "2"))
    STALE_AFTER_S = float(os.environ.get("MODELWATCH_STALE_AFTER_S", "30"))
    DB_RETRY_S = float(os.environ.get("MODELWATCH_DB_RETRY_S", "60"))
    # model bytes: "disk" (content-addressed files under ARTIFACT_DIR, default instance/artifacts) or "database"
    ARTIFACT_STORE = os.environ.get("MODELWATCH_ARTIFACT_STORE", "disk")
    ARTIFACT_DIR = os.environ.get("MODELWATCH_ARTIFACT_DIR")
    LOG_FORMAT = os.environ.get("MODELWATCH_LOG_FORMAT", "json")  # json | text
    # webhook destinations an admin allows: URL prefixes (scheme://host[:port][/path]), comma-separated
    WEBHOOK_ALLOWLIST = [p for p in os.environ.get("MODELWATCH_WEBHOOK_ALLOWLIST", "").split(",") if p.strip()]
    WEBHOOK_MAX_ATTEMPTS = 5
    WEBHOOK_BACKOFF_S = 2.0  # the wait before retry n is WEBHOOK_BACKOFF_S * 2 ** (n - 1)
    WEBHOOK_TIMEOUT_S = 5.0
    # "none": no sign-in, everyone is the local admin (a laptop; the UI says so); "required": every page, callback
    # and endpoint needs a session or a token with the right scope (production). "optional" = old name of "none".
    AUTH = os.environ.get("MODELWATCH_AUTH", "none")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("MODELWATCH_SECURE_COOKIES", "0") == "1"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=float(os.environ.get("MODELWATCH_SESSION_HOURS", "12")))
    LOGIN_RATE_LIMIT = os.environ.get("MODELWATCH_LOGIN_RATE_LIMIT", "5 per minute")  # failed sign-ins per address
    WRITE_RATE_LIMIT = os.environ.get("MODELWATCH_WRITE_RATE_LIMIT", "120 per minute")  # per user or token
    DASHBOARD = True
    API_TITLE = "modelwatch"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"


class TestSettings(Settings):
    """Tests: a throwaway database, runs executed inline so that a test sees the finished row."""

    TESTING = True
    SECRET_KEY = "test"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    EXECUTOR = "inline"
    DASHBOARD = False
    RECOVERY_INTERVAL_S = 0  # tests run the janitor's passes themselves


class ProductionSettings(Settings):
    """Production refuses to start without a real secret key."""

    def __init__(self) -> None:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production (MODELWATCH_ENV=production).")
        self.SECRET_KEY = os.environ["SECRET_KEY"]
        self.AUTH = os.environ.get("MODELWATCH_AUTH", "required")
        self.SESSION_COOKIE_SECURE = os.environ.get("MODELWATCH_SECURE_COOKIES", "1") == "1"  # behind TLS


def from_environment() -> Settings:
    """The settings named by ``MODELWATCH_ENV`` (``production`` or anything else for development)."""
    return ProductionSettings() if os.environ.get("MODELWATCH_ENV") == "production" else Settings()


def configure_sandbox(config: Mapping[str, Any]) -> Identity:
    """Hand the sandbox its settings: the app does at start-up, and a gunicorn worker before it imports the app
    (``gunicorn.conf.py``), to start the warm worker early.

    Raises:
        SandboxUnavailable: models would run as root (no sandbox user, and no explicit override).
    """
    return sandbox.configure(config["SANDBOX_USER"], config["SANDBOX_ALLOW_INSECURE"], config["SANDBOX_WARM"],
                             config["SANDBOX_ENV"], config["SANDBOX_NUMBA_CACHE"])
