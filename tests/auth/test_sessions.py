"""Sign-in sessions without the dashboard: the login form, its CSRF token and rate limit, cookie flags, logout,
CSRF on session writes to the API, security headers."""
from __future__ import annotations

import pytest

from modelwatch.app import create_app
from modelwatch.extensions import db
from modelwatch.settings import ProductionSettings
from tests.auth.accounts import PASSWORD, csrf_header, ensure_user, login_form_token, sign_in
from tests.conftest import make_config


@pytest.fixture
def app(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'sessions.db'}", AUTH="required"))
    with app.app_context():
        db.create_all()
    ensure_user(app, "eddie", "editor")
    return app


def test_sign_in_renews_the_session_and_sign_out_ends_it(app):
    client = app.test_client()
    assert client.get("/api/runs").status_code == 401
    token = login_form_token(client.get("/login?next=/history").get_data(as_text=True))
    assert client.post("/login", data={"username": "eddie", "password": PASSWORD}).status_code == 403  # no CSRF
    answer = client.post("/login", data={"username": "eddie", "password": PASSWORD, "csrf_token": token,
                                         "next": "/history"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/history"
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert client.get_cookie("_csrf_token").value != token  # a new session, a new token
    assert client.get("/api/runs").status_code == 200  # the session reads the API too

    assert client.post("/api/runs/nope/cancel").status_code == 403  # a session write needs the CSRF header
    assert client.post("/api/runs/nope/cancel", headers=csrf_header(client)).status_code == 404
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert client.post("/logout", data={"csrf_token": client.get_cookie("_csrf_token").value}).status_code == 302
    assert client.get("/api/runs").status_code == 401


def test_wrong_passwords_are_rate_limited_per_address(app):
    client = app.test_client()
    for _ in range(5):
        assert sign_in(client, "eddie", "not the password").status_code == 401
    limited = sign_in(client, "eddie")  # even the right password, for a while
    assert limited.status_code == 429 and "Too many failed sign-ins" in limited.get_data(as_text=True)
    app.extensions["modelwatch_limiter"].reset()
    assert sign_in(client, "eddie").status_code == 302


def test_no_open_redirect_and_unknown_users_look_like_wrong_passwords(app):
    client = app.test_client()
    token = login_form_token(client.get("/login").get_data(as_text=True))
    unknown = client.post("/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": token})
    assert unknown.status_code == 401 and "Wrong username or password" in unknown.get_data(as_text=True)
    answer = client.post("/login", data={"username": "eddie", "password": PASSWORD, "csrf_token": token,
                                         "next": "//evil.example/x"})
    assert answer.headers["Location"] == "/"


def test_security_headers(app):
    client = app.test_client()
    page = client.get("/login")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in page.headers["Content-Security-Policy"].split("script-src", 1)[1].split(";")[0]
    assert client.get("/api/health").headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("MODELWATCH_AUTH", raising=False)
    config = ProductionSettings()
    assert config.SESSION_COOKIE_SECURE is True and config.AUTH == "required"
    assert config.SESSION_COOKIE_HTTPONLY is True and config.SESSION_COOKIE_SAMESITE == "Lax"
