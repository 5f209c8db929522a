"""The app's settings as an operator sets them: production refuses a missing secret and requires sign-in by
default; Heroku-style database URLs work."""
from __future__ import annotations

import pytest

from modelwatch.settings import ProductionSettings, Settings, database_url, from_environment


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.setenv("MODELWATCH_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        from_environment()


def test_production_requires_sign_in_and_secure_cookies_unless_told_otherwise(monkeypatch):
    monkeypatch.setenv("MODELWATCH_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.delenv("MODELWATCH_AUTH", raising=False)
    settings = from_environment()
    assert isinstance(settings, ProductionSettings)
    assert (settings.SECRET_KEY, settings.AUTH, settings.SESSION_COOKIE_SECURE) == ("s3cret", "required", True)
    monkeypatch.setenv("MODELWATCH_AUTH", "none")
    assert ProductionSettings().AUTH == "none"


def test_development_is_the_default(monkeypatch):
    monkeypatch.delenv("MODELWATCH_ENV", raising=False)
    assert type(from_environment()) is Settings


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u:p@db:5432/mw", "postgresql+psycopg://u:p@db:5432/mw"),
    ("postgresql://u@db/mw", "postgresql+psycopg://u@db/mw"),
    ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
])
def test_database_urls_are_rewritten_for_psycopg(monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    assert database_url("sqlite:///default.db") == expected


def test_without_database_url_the_embedded_default_is_used(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url("sqlite:///default.db") == "sqlite:///default.db"
