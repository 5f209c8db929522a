"""The one gate in front of every request: resolve the caller, look up what the endpoint (or the Dash callback)
needs in ``declarations``, ``authorize``, then CSRF for cookie sessions and the write rate limit."""
from __future__ import annotations

from urllib.parse import quote

from flask import Flask, current_app, redirect, request

from modelwatch.auth import csrf
from modelwatch.auth.declarations import CALLBACKS, ENDPOINTS, callback_key
from modelwatch.auth.permissions import ADMIN, BATCHES, DELETE_RUN, PUBLIC, WRITE, authorize
from modelwatch.auth.principal import current_principal
from modelwatch.auth.rate_limits import check_write_rate
from modelwatch.errors import Forbidden, Unauthorized

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DASH_CALLBACK = "/_dash-update-component"
PAGE_ENDPOINTS = ("/", "/<path:path>")
WRITES = (WRITE, BATCHES, DELETE_RUN, ADMIN)


def init_gate(app: Flask) -> None:
    app.before_request(gate)


def required_permission() -> str:
    """What this request needs; unknown paths (404s) are public; undeclared endpoints and callbacks need
    ``admin`` (a laptop with auth off keeps working, nobody else gets in; tests/auth/test_matrix.py fails)."""
    endpoint = request.endpoint
    if endpoint is None:
        return PUBLIC  # no such route: let Flask answer 404/405
    if endpoint == DASH_CALLBACK and request.method == "POST":
        return callback_permission(request.get_json(silent=True) or {})
    return ENDPOINTS.get(endpoint) or _undeclared(endpoint)


def callback_permission(body: dict) -> str:
    """The permission of the server callback a Dash request names (by its output), or ``undeclared``."""
    dash_app = current_app.extensions.get("dash")
    entry = dash_app.callback_map.get(str(body.get("output", ""))) if dash_app is not None else None
    function = entry.get("callback") if entry else None
    if function is None:
        raise Forbidden("No such callback.", {"output": str(body.get("output", ""))[:200]})
    key = callback_key(function.__module__, function.__qualname__)
    return CALLBACKS.get(key) or _undeclared(key)


def _undeclared(name: str) -> str:
    current_app.logger.warning("%s declares no permission in modelwatch/auth/declarations.py: admins only", name)
    return ADMIN


def gate():
    """before_request: raise ``Unauthorized``/``Forbidden`` (JSON error body) or redirect a browser to log in."""
    principal = current_principal()  # a wrong token is a 401 here, in every mode
    permission = required_permission()
    try:
        authorize(principal, permission)
    except Unauthorized:
        if request.method == "GET" and request.endpoint in PAGE_ENDPOINTS:
            return redirect(f"/login?next={quote(request.full_path.rstrip('?'), safe='/?=&')}")
        raise
    if principal.kind == "user" and request.method not in SAFE_METHODS:
        csrf.check()  # a cookie session rides along with cross-site requests; a bearer token does not
    if permission in WRITES and principal.kind in ("user", "token") and request.method not in SAFE_METHODS:
        check_write_rate(principal)
    return None

