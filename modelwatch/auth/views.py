"""The login and logout pages: plain Flask (they must work before any Dash endpoint is allowed), rate-limited,
CSRF-protected, and the session is renewed at login (no fixation)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template_string, request, session
from flask_login import login_user, logout_user

from modelwatch.auth import csrf
from modelwatch.auth.principal import auth_mode
from modelwatch.auth.rate_limits import login_allowed, login_failed
from modelwatch.services import audit, users

bp = Blueprint("auth", __name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · modelwatch</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/assets/00-bootstrap.min.css"></head>
<body class="bg-light"><main class="container" style="max-width: 420px; margin-top: 10vh">
<h1 class="h3 mb-3">modelwatch</h1>
{% if message %}<div id="login-message" class="alert alert-{{ level }}" role="alert">{{ message }}</div>{% endif %}
<form method="post" action="/login" id="login-form">
  <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
  <input type="hidden" name="next" value="{{ next }}">
  <div class="mb-3"><label class="form-label" for="login-username-input">Username or email</label>
    <input class="form-control" id="login-username-input" name="username" autocomplete="username" required
      value="{{ username }}"></div>
  <div class="mb-3"><label class="form-label" for="login-password-input">Password</label>
    <input class="form-control" id="login-password-input" name="password" type="password"
      autocomplete="current-password" required></div>
  <button class="btn btn-primary" id="login-submit-button" type="submit">Sign in</button>
</form></main></body></html>"""


def _safe_next(target: str | None) -> str:
    """Only a path on this site (no ``//host`` or scheme): an open redirect would help phishing."""
    target = target or "/"
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/"


def _page(status: int = 200, message: str = "", level: str = "danger", username: str = ""):
    body = render_template_string(PAGE, message=message, level=level, username=username,
                                  csrf_token=csrf.token(), next=_safe_next(request.values.get("next")))
    return body, status


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        note = "Authentication is off on this server (MODELWATCH_AUTH=none)." if auth_mode() == "none" else ""
        return _page(message=note, level="warning")
    csrf.check()
    username = request.form.get("username", "")
    if not login_allowed():
        return _page(429, "Too many failed sign-ins from this address; wait a minute and try again.",
                     username=username)
    user = users.check_password(username, request.form.get("password", ""))
    if user is None:
        login_failed()
        return _page(401, "Wrong username or password.", username=username)
    target = _safe_next(request.form.get("next"))
    session.clear()  # a new session at login: a session id planted before login is worth nothing
    login_user(user)
    session.permanent = True  # PERMANENT_SESSION_LIFETIME applies
    csrf.token()
    audit.record("user.login", user.username, actor=f"user:{user.username}")
    return redirect(target)


@bp.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    return redirect("/login")
