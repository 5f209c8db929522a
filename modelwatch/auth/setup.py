"""Bind accounts to the app: Flask-Login sessions, the login pages, CSRF, rate limits, security headers and the
audit trail's listeners (``init_auth``), and the gate (``init_gate``, registered last)."""
from __future__ import annotations

from flask import Flask

from modelwatch.auth import views
from modelwatch.auth.csrf import init_csrf
from modelwatch.auth.headers import init_headers
from modelwatch.auth.principal import AUTH_MODES
from modelwatch.auth.rate_limits import init_rate_limits
from modelwatch.extensions import db, login_manager
from modelwatch.models import User
from modelwatch.services import audit  # noqa: F401 - registers the audit trail's mapper events


def init_auth(app: Flask) -> None:
    if app.config.get("AUTH") not in AUTH_MODES:
        raise RuntimeError(f"MODELWATCH_AUTH must be one of {', '.join(AUTH_MODES)}, not {app.config.get('AUTH')!r}.")
    login_manager.init_app(app)
    login_manager.session_protection = "basic"
    app.register_blueprint(views.bp)
    init_rate_limits(app)
    init_csrf(app)
    init_headers(app)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, re-read on every request: a deactivated user is signed out, a new role applies."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None
