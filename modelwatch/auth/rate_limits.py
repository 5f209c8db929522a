"""Rate limits with Flask-Limiter's storage (Redis when the broker is Redis, memory otherwise): failed logins per
client address, and writes (submissions, deletes, tags) per user or token."""
from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from modelwatch.auth.permissions import Principal
from modelwatch.errors import RateLimited

EXTENSION = "modelwatch_limiter"


def storage_uri(broker_url: str | None) -> str:
    return broker_url if broker_url and broker_url.startswith(("redis://", "rediss://")) else "memory://"


def init_rate_limits(app: Flask) -> Limiter:
    """One limiter per app (tests build many apps in one process); limits are applied where they apply."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(app.config.get("BROKER_URL")))
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)  # Redis down: no limit rather than no service
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "modelwatch")
    limiter = Limiter(get_remote_address, app=app)
    app.extensions[EXTENSION] = limiter
    return limiter


def _hit(limit: str, *keys: str, deduct: bool = True) -> bool:
    """True when the call fits in the limit (and, with ``deduct``, count it)."""
    strategy = current_app.extensions[EXTENSION].limiter
    parsed = parse(limit)
    try:
        return strategy.hit(parsed, *keys) if deduct else strategy.test(parsed, *keys)
    except Exception:  # noqa: BLE001 - the storage is down: fail open, as RATELIMIT_SWALLOW_ERRORS says
        current_app.logger.warning("rate-limit storage unavailable; not limiting")
        return True


def login_allowed() -> bool:
    """Whether this address may try a password now (failed tries are counted by ``login_failed``)."""
    return _hit(current_app.config["LOGIN_RATE_LIMIT"], "login", get_remote_address(), deduct=False)


def login_failed() -> None:
    _hit(current_app.config["LOGIN_RATE_LIMIT"], "login", get_remote_address())


def check_write_rate(principal: Principal) -> None:
    """Raises: RateLimited: this user or token made too many writes in the window."""
    limit = current_app.config["WRITE_RATE_LIMIT"]
    if not _hit(limit, "write", principal.actor):
        raise RateLimited(f"Too many writes by {principal.actor} ({limit}); slow down and retry.",
                          {"limit": limit, "path": request.path})
