"""Configuration classes read from the environment (tests pass their own config to the factory)."""
from __future__ import annotations

import os
from datetime import timedelta


def database_url(default: str) -> str:
    """``DATABASE_URL`` with Heroku's ``postgres://`` rewritten for SQLAlchemy and psycopg 3."""
    url = os.environ.get("DATABASE_URL") or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    """Development defaults: embedded SQLite in the instance folder, an in-process thread pool."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-not-secret")
    SQLALCHEMY_DATABASE_URI: str | None = None  # resolved in create_app: needs the instance folder
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MAX_UPLOAD_MB = int(os.environ.get("MODELWATCH_MAX_UPLOAD_MB", "200"))
    BROKER_URL = os.environ.get("MODELWATCH_BROKER_URL")
    EXECUTOR = os.environ.get("MODELWATCH_EXECUTOR", "threads")  # threads | inline | celery
    EXECUTOR_WORKERS = int(os.environ.get("MODELWATCH_WORKERS", "2"))
    SANDBOX_MEMORY_MB = int(os.environ.get("MODELWATCH_SANDBOX_MEMORY_MB", "2048"))
    MAX_WAIT_S = 600
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


class TestConfig(Config):
    """Tests: a throwaway database, runs executed inline so that a test sees the finished row."""

    TESTING = True
    SECRET_KEY = "test"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    EXECUTOR = "inline"
    DASHBOARD = False


class ProductionConfig(Config):
    """Production refuses to start without a real secret key."""

    def __init__(self) -> None:
        if not os.environ.get("SECRET_KEY"):
            raise RuntimeError("SECRET_KEY must be set in production (MODELWATCH_ENV=production).")
        self.SECRET_KEY = os.environ["SECRET_KEY"]
        self.AUTH = os.environ.get("MODELWATCH_AUTH", "required")
        self.SESSION_COOKIE_SECURE = os.environ.get("MODELWATCH_SECURE_COOKIES", "1") == "1"  # behind TLS


def from_environment() -> Config:
    """The config named by ``MODELWATCH_ENV`` (``production`` or anything else for development)."""
    return ProductionConfig() if os.environ.get("MODELWATCH_ENV") == "production" else Config()
