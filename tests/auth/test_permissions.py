"""``authorize``: roles, token scopes narrowed by the owner's role, the owner rule for deleting runs."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from modelwatch.auth.permissions import (
    ADMIN,
    ANONYMOUS,
    BATCHES,
    DELETE_RUN,
    LOCAL,
    PUBLIC,
    READ,
    WRITE,
    allowed,
    authorize,
    token_principal,
    user_principal,
)
from modelwatch.errors import Forbidden, Unauthorized

MATRIX = {  # role -> what it may do
    "viewer": {READ},
    "editor": {READ, WRITE, BATCHES},
    "admin": {READ, WRITE, BATCHES, ADMIN},
}


@pytest.mark.parametrize("role", MATRIX)
@pytest.mark.parametrize("permission", [READ, WRITE, BATCHES, ADMIN])
def test_roles(role, permission):
    principal = user_principal(1, "someone", role)
    assert allowed(principal, permission) is (permission in MATRIX[role])
    if permission not in MATRIX[role]:
        with pytest.raises(Forbidden):
            authorize(principal, permission)


def test_nobody_is_unauthorized_and_public_is_open():
    with pytest.raises(Unauthorized):
        authorize(ANONYMOUS, READ)
    authorize(ANONYMOUS, PUBLIC)
    assert all(allowed(LOCAL, p) for p in (READ, WRITE, BATCHES, ADMIN))


def test_a_token_never_exceeds_its_owners_role_and_scopes_imply_reading():
    viewer_token = token_principal(1, "t", ["runs:write", "admin"], (7, "vic", "viewer"))
    assert viewer_token.scopes == frozenset({READ})
    writer = token_principal(2, "ci", ["runs:write"], None)
    assert allowed(writer, READ) and allowed(writer, WRITE) and not allowed(writer, ADMIN)
    reader = token_principal(3, "dash", ["runs:read"], None)
    assert allowed(reader, READ) and not allowed(reader, WRITE)
    legacy = token_principal(4, "old", None, None)  # a token from before scopes: read and write
    assert allowed(legacy, WRITE) and not allowed(legacy, ADMIN)


def test_editors_delete_their_own_runs_admins_any():
    editor = user_principal(5, "eve", "editor")
    admin = user_principal(6, "ada", "admin")
    own, other = SimpleNamespace(owner_id=5, submitted_by="eve"), SimpleNamespace(owner_id=9, submitted_by="x")
    authorize(editor, DELETE_RUN, own)
    with pytest.raises(Forbidden):
        authorize(editor, DELETE_RUN, other)
    authorize(admin, DELETE_RUN, other)
    ci = token_principal(1, "ci", ["runs:write"], None)
    assert allowed(ci, DELETE_RUN, SimpleNamespace(owner_id=None, submitted_by="ci"))
    assert not allowed(ci, DELETE_RUN, SimpleNamespace(owner_id=None, submitted_by="other"))
    assert not allowed(user_principal(7, "vic", "viewer"), DELETE_RUN, SimpleNamespace(owner_id=7))
