"""The one gate in front of every request: resolve the caller, look up what the endpoint (or the Dash callback)
needs in ``declarations``, ``authorize``, then CSRF for cookie sessions and the write rate limit."""
from __future__ import annotations

from urllib.parse import quote

from flask import Flask, current_app, g, redirect, request

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
    """What this request needs; unknown endpoints (404s) are public, undeclared ones need what nobody has."""
    endpoint = request.endpoint
    if endpoint is None:
        return PUBLIC  # no such route: let Flask answer 404/405
    if endpoint == DASH_CALLBACK and request.method == "POST":
        return callback_permission(request.get_json(silent=True) or {})
    return ENDPOINTS.get(endpoint, "undeclared")


def callback_permission(body: dict) -> str:
    """The permission of the server callback a Dash request names (by its output), or ``undeclared``."""
    dash_app = current_app.extensions.get("dash")
    entry = dash_app.callback_map.get(str(body.get("output", ""))) if dash_app is not None else None
    function = entry.get("callback") if entry else None
    if function is None:
        return "undeclared"
    return CALLBACKS.get(callback_key(function.__module__, function.__qualname__), "undeclared")


def gate():
    """before_request: raise ``Unauthorized``/``Forbidden`` (JSON error body) or redirect a browser to log in."""
    principal = current_principal()  # a wrong token is a 401 here, in every mode
    permission = required_permission()
    if permission == "undeclared":
        raise Forbidden("This endpoint or callback declares no permission; nobody may call it.",
                        {"endpoint": request.endpoint})
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
    g.permission = permission
    return None

