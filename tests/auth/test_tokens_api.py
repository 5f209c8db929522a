"""Tokens and users through the REST API with ``MODELWATCH_AUTH=required``: scopes, expiry, revocation, hashes,
authors on runs, owners on deletes, the audit trail and ``GET /api/audit``."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from modelwatch.app import create_app
from modelwatch.extensions import db
from modelwatch.models import ApiToken, Run, User, utcnow
from tests.api.fast import assert_error
from tests.auth.accounts import ensure_user, token_for
from tests.conftest import make_config
from tests.factories import stored_artifact, stored_run


@pytest.fixture
def app(db_url):
    app = create_app(make_config(db_url, AUTH="required"))
    with app.app_context():
        db.drop_all()
        db.create_all()
    for role in ("viewer", "editor", "admin"):
        ensure_user(app, role[:3], role)
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_scopes_are_enforced_and_401_names_the_scheme(app):
    client = app.test_client()
    reader = bearer(token_for(app, None, "reader", ["runs:read"]))
    writer = bearer(token_for(app, "edi", "writer", ["runs:write"]))

    anonymous = client.get("/api/runs")
    assert_error(anonymous, 401, "unauthorized")
    assert anonymous.headers["WWW-Authenticate"] == 'Bearer realm="modelwatch"'
    wrong = client.get("/api/runs", headers=bearer("mw_wrong"))
    assert_error(wrong, 401, "unauthorized")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]

    assert client.get("/api/runs", headers=reader).status_code == 200
    refused = assert_error(client.post("/api/runs/nope/cancel", headers=reader), 403, "forbidden")
    assert refused["details"]["needs"] == "runs:write"
    assert_error(client.post("/api/runs/nope/cancel", headers=writer), 404, "not_found")  # let through
    assert client.get("/api/runs", headers=writer).status_code == 200  # write implies read
    assert_error(client.get("/api/audit", headers=writer), 403, "forbidden")


def test_expired_and_revoked_tokens_and_deactivated_users_are_refused(app):
    client = app.test_client()
    secret = token_for(app, "adm", "soon", expires_in_days=1)
    assert client.get("/api/runs", headers=bearer(secret)).status_code == 200
    with app.app_context():
        token = ApiToken.query.filter_by(name="soon").one()
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in str(token.__dict__)
        token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert "expired" in assert_error(client.get("/api/runs", headers=bearer(secret)), 401, "unauthorized")["message"]

    other = token_for(app, "adm", "other")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["tokens", "revoke", "other"]).exit_code == 0
    assert_error(client.get("/api/runs", headers=bearer(other)), 401, "unauthorized")

    third = token_for(app, "vie", "third", ["runs:read"])
    with app.app_context():
        User.query.filter_by(username="vie").one().active = False
        db.session.commit()
    assert_error(client.get("/api/runs", headers=bearer(third)), 401, "unauthorized")


def test_a_demoted_owner_shrinks_their_tokens(app):
    client = app.test_client()
    secret = bearer(token_for(app, "edi", "edi-ci"))
    assert client.post("/api/data/generate", json={}, headers=secret).status_code == 400  # allowed: a bad body
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "set-role", "edi", "viewer"]).exit_code == 0
    assert client.post("/api/runs/nope/cancel", headers=secret).status_code == 403


def run_by(app, headers: dict[str, str], name: str) -> str:
    """A run created while this token's request is served (no sandbox: the row is what the test is about)."""
    with app.test_request_context("/api/runs", method="POST", headers=headers):
        app.preprocess_request()  # the gate names the caller
        return stored_run(stored_artifact(), name).id


def test_editors_delete_only_their_own_runs_and_everything_is_audited(app):
    client = app.test_client()
    ensure_user(app, "edi2", "editor")
    mine, theirs = bearer(token_for(app, "edi", "mine")), bearer(token_for(app, "edi2", "theirs"))
    admin = bearer(token_for(app, "adm", "root", ["admin"]))
    own, other = run_by(app, mine, "own"), run_by(app, theirs, "other")
    assert client.get(f"/api/runs/{own}", headers=mine).get_json()["run"]["submitted_by"] == "mine"
    with app.app_context():
        assert db.session.get(Run, own).owner_id == User.query.filter_by(username="edi").one().id
    assert client.put(f"/api/runs/{own}/tags", json={"tags": ["v2"]}, headers=mine).status_code == 200
    assert_error(client.delete(f"/api/runs/{other}", headers=mine), 403, "forbidden")
    assert client.delete(f"/api/runs/{own}", headers=mine).status_code == 204
    assert client.delete(f"/api/runs/{other}", headers=admin).status_code == 204

    events = client.get("/api/audit?limit=50", headers=admin).get_json()["events"]
    seen = {(e["actor"], e["action"], e["target"]) for e in events}
    assert {("token:mine", "run.create", own), ("token:mine", "run.tag", own), ("token:mine", "run.delete", own),
            ("token:theirs", "run.create", other), ("token:root", "run.delete", other),
            ("system", "token.create", "mine"), ("system", "user.create", "edi")} <= seen  # made outside requests
    only_deletes = client.get("/api/audit?action=run.delete", headers=admin).get_json()
    assert only_deletes["total"] == 2
    assert_error(client.get("/api/audit?limit=0", headers=admin), 400, "bad_request")


def test_users_command_and_roles(app):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["users", "create", "root2", "--role", "admin", "--password", "a long passphrase"])
    assert made.exit_code == 0, made.output
    assert runner.invoke(args=["users", "create", "x", "--password", "short"]).exit_code != 0
    assert runner.invoke(args=["users", "set-role", "root2", "boss"]).exit_code != 0
    listing = runner.invoke(args=["users", "list"]).output
    assert "root2" in listing and "admin" in listing
    with app.app_context():
        assert User.query.filter_by(username="root2").one().password_hash.startswith("$argon2id$")
    created = runner.invoke(args=["tokens", "create", "--name", "r2", "--user", "root2", "--scope", "runs:read",
                                  "--expires-days", "30"])
    assert created.exit_code == 0 and created.stdout.startswith("mw_")
    assert "runs:read" in runner.invoke(args=["tokens", "list", "--user", "root2"]).output
    with app.app_context():
        from modelwatch.services.audit import list_events

        events = {(e["actor"], e["action"], e["target"]) for e in list_events()[0]}
    assert {("cli", "user.create", "root2"), ("cli", "token.create", "r2")} <= events


def test_writes_are_rate_limited_per_token(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'limits.db'}", AUTH="required",
                                 WRITE_RATE_LIMIT="2 per minute"))
    with app.app_context():
        db.create_all()
    client = app.test_client()
    first, second = bearer(token_for(app, None, "first")), bearer(token_for(app, None, "second"))
    for _ in range(2):
        assert_error(client.post("/api/runs/nope/cancel", headers=first), 404, "not_found")
    limited = assert_error(client.post("/api/runs/nope/cancel", headers=first), 429, "rate_limited")
    assert limited["details"]["limit"] == "2 per minute"
    assert client.get("/api/runs", headers=first).status_code == 200  # reads are not writes
    assert_error(client.post("/api/runs/nope/cancel", headers=second), 404, "not_found")  # per token


def test_an_undeclared_endpoint_is_for_admins_only(app):
    app.add_url_rule("/api/undeclared", "undeclared", lambda: "ok")
    client = app.test_client()
    assert_error(client.get("/api/undeclared"), 401, "unauthorized")
    assert_error(client.get("/api/undeclared", headers=bearer(token_for(app, "edi", "e"))), 403, "forbidden")
    assert client.get("/api/undeclared", headers=bearer(token_for(app, "adm", "a"))).data == b"ok"
