"""Helpers for the accounts tests: users of each role, sign-in through the real login form, tokens."""
from __future__ import annotations

import re
from contextlib import contextmanager

from flask import Flask

from modelwatch.auth.permissions import SCOPES
from modelwatch.extensions import db
from modelwatch.models import User
from modelwatch.services import tokens, users

PASSWORD = "correct horse battery staple"
ROLES = ("viewer", "editor", "admin")


def ensure_user(app: Flask, username: str, role: str) -> None:
    """Create the user once (the live server's database outlives a test)."""
    with app.app_context():
        if User.query.filter_by(username=username).one_or_none() is None:
            users.create_user(username, PASSWORD, role)
        db.session.remove()


def token_for(app: Flask, username: str | None, name: str, scopes=SCOPES, expires_in_days: int | None = None) -> str:
    with app.app_context():
        owner = users.get_user(username) if username else None
        _, secret = tokens.create_token(name, owner, list(scopes), expires_in_days)
        db.session.remove()
    return secret


def login_form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign in with the login form (its CSRF token included); returns the answer to the POST."""
    token = login_form_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token})


def csrf_header(client) -> dict[str, str]:
    """What Dash's renderer sends: the ``_csrf_token`` cookie copied into ``X-CSRFToken``."""
    cookie = client.get_cookie("_csrf_token")
    return {"X-CSRFToken": cookie.value} if cookie else {}


@contextmanager
def auth_required(app: Flask):
    """Run the shared live app with ``MODELWATCH_AUTH=required`` for a while (Dash is mounted once per process, so
    the accounts tests switch the mode of that one app rather than build another); failed sign-ins are forgotten
    afterwards."""
    before = app.config["AUTH"]
    app.config["AUTH"] = "required"
    try:
        yield app
    finally:
        app.config["AUTH"] = before
        app.extensions["modelwatch_limiter"].reset()
