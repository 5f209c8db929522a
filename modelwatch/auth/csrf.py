"""CSRF for cookie sessions: a random token in the signed session, echoed by the page in a header.

Dash's renderer already sends the cookie ``_csrf_token`` back as the header ``X-CSRFToken`` on every callback
(its ``csrf_token_name``/``csrf_header_name`` settings), so the dashboard needs no script of its own: the cookie
is readable by our pages only (same origin), and a cross-site form cannot set the header. The login form carries
the token as a hidden field instead.
"""
from __future__ import annotations

import hmac
import secrets

from flask import Flask, Response, current_app, request, session

from modelwatch.errors import Forbidden

COOKIE = "_csrf_token"
HEADER = "X-CSRFToken"
FIELD = "csrf_token"
SESSION_KEY = "csrf"


def token() -> str:
    """This session's CSRF token, made on first use."""
    if SESSION_KEY not in session:
        session[SESSION_KEY] = secrets.token_urlsafe(32)
    return session[SESSION_KEY]


def check() -> None:
    """Raises: Forbidden: the header (or form field) does not match the session's token."""
    expected = session.get(SESSION_KEY)
    sent = request.headers.get(HEADER) or request.form.get(FIELD) or ""
    if not expected or not hmac.compare_digest(str(expected), str(sent)):
        raise Forbidden("The CSRF token is missing or wrong: reload the page and try again.", {"header": HEADER})


def set_cookie(response: Response) -> Response:
    """after_request: give the page the session's token as a cookie its scripts can read (not HttpOnly)."""
    value = session.get(SESSION_KEY)
    if value and request.cookies.get(COOKIE) != value:
        response.set_cookie(COOKIE, value, secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
                            httponly=False, samesite="Lax")
    return response


def init_csrf(app: Flask) -> None:
    app.after_request(set_cookie)
