"""The application factory: a table of contents of what the app is made of."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from modelwatch import commands, models, models_monitoring  # noqa: F401  (every table joins db.metadata)
from modelwatch.api import register_api
from modelwatch.auth.gate import init_gate
from modelwatch.auth.setup import init_auth
from modelwatch.core.sandbox import runner as sandbox
from modelwatch.dashboard.mount import mount_dashboard
from modelwatch.execution.background import start_with_first_request
from modelwatch.execution.executors import init_executor
from modelwatch.extensions import db, migrate
from modelwatch.services.logs import configure_logging, init_request_logging
from modelwatch.services.runs import execute_claimed
from modelwatch.settings import Settings, configure_sandbox, database_url, from_environment

MIGRATIONS = str(Path(__file__).resolve().parent.parent / "migrations")


def create_app(settings: Settings | type[Settings] | None = None) -> Flask:
    """Build the app from a settings object or class (tests) or from the environment (wsgi)."""
    app = Flask(__name__, instance_relative_config=True)
    configure(app, settings if settings is not None else from_environment())
    if not app.testing:
        configure_logging(app.config["LOG_FORMAT"])
    init_request_logging(app)
    register_extensions(app)
    init_auth(app)
    register_api(app)
    init_executor(app, work=execute_claimed)  # execution knows where and when; the use case knows what
    start_with_first_request(app)  # runners and janitor, unless a server hook started them already
    commands.register(app)
    if app.config["DASHBOARD"]:
        mount_dashboard(app)
    init_gate(app)  # last: Dash builds its callback map in a before_request hook of its own, which must run first
    return app


def configure(app: Flask, settings: Settings | type[Settings]) -> None:
    """Load the settings into ``app.config`` and configure what depends on them (the sandbox, the database)."""
    app.config.from_object(settings)
    # fails closed at start-up when models would run as root (no sandbox user, no explicit override)
    configure_sandbox(app.config)
    if app.config["SANDBOX_NUMBA_CACHE"] and sandbox.shared_numba_cache() is None:
        logging.getLogger(__name__).warning(
            "MODELWATCH_SANDBOX_NUMBA_CACHE=%s is not used: it must be this user's own directory, mode 0700, with no "
            "parent others may write, and model processes must run as another user or under Landlock; each warm "
            "worker compiles the numba kernels (SHAP, drift, shap's masking) again (~15 s a start)",
            app.config["SANDBOX_NUMBA_CACHE"])
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        default = f"sqlite:///{Path(app.instance_path) / 'modelwatch.db'}"
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(default)
    # Room for a Dash upload, which arrives base64-encoded; services enforce the exact model-size cap.
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_UPLOAD_MB"] * 1024 * 1024 * 1.4) + 1024 * 1024


def register_extensions(app: Flask) -> None:
    """Bind the database and migrations to the app."""
    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS, render_as_batch=True)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite shared by web threads and run threads: WAL, a busy wait, and enforced foreign keys."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
