"""The Users page's callbacks, as an admin: create a user, change a role, create a token (shown once), revoke it."""
from __future__ import annotations

import sys

import pytest
from flask import g

from modelwatch.auth.permissions import user_principal
from modelwatch.models import ApiToken, User
from modelwatch.services.tokens import hash_token


@pytest.fixture
def users_page(live_server):
    app, _ = live_server
    assert app.test_client().get("/users").status_code == 200
    page = next(module for name, module in sys.modules.items() if name.endswith("pages.users"))
    with app.test_request_context("/users"):
        g.principal = user_principal(1, "root", "admin")
        yield page


def test_an_admin_manages_users_and_tokens(users_page):
    feedback, changed = users_page.create_user(1, "page-made", None, "a long passphrase", "viewer", 0)
    assert feedback == "Created page-made (viewer)." and changed == 1
    assert users_page.create_user(1, "page-made", None, "a long passphrase", "viewer", 1)[0].startswith("That")
    assert users_page.change_role(1, "page-made", "editor", 1)[0] == "page-made is now editor."
    assert User.query.filter_by(username="page-made").one().role == "editor"

    shown, _ = users_page.create_token(1, "page-token", "page-made", ["runs:read"], 30, 2)
    secret = next(part for part in str(shown).split("'") if part.startswith("mw_"))
    token = ApiToken.query.filter_by(name="page-token").one()
    assert token.token_hash == hash_token(secret) and token.scopes == ["runs:read"] and token.expires_at
    assert users_page.revoke_token(1, "page-token", 3)[0] == "Revoked page-token."
    users_table, tokens_table, *_ = users_page.refresh(4)
    assert "page-made" in str(users_table) and "page-token" in str(tokens_table) and secret not in str(tokens_table)
