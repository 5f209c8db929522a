"""API tokens as use cases: create (the secret is shown once), authenticate, list, revoke. Only sha256 is stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from modelwatch.errors import BadRequest, NotFound, Unauthorized
from modelwatch.extensions import db
from modelwatch.models import ApiToken, utcnow

TOKEN_PREFIX = "mw_"
# last_used_at is a hint for operators; writing it on every request would serialise submissions on SQLite
LAST_USED_RESOLUTION_S = 60


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(name: str) -> tuple[ApiToken, str]:
    """Create a named token and return it with its secret (the only time the secret exists).

    Raises:
        BadRequest: the name is empty, too long, or already used.
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise BadRequest("A token needs a name of 1 to 100 characters.", {"field": "name"})
    if ApiToken.query.filter_by(name=name).one_or_none() is not None:
        raise BadRequest(f"A token named {name!r} already exists; revoke it or pick another name.", {"name": name})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=hash_token(secret))
    db.session.add(token)
    db.session.commit()
    return token, secret


def authenticate(header: str | None) -> ApiToken:
    """The live token named by an ``Authorization: Bearer <token>`` header.

    Raises:
        Unauthorized: the header is missing or malformed, or the token is unknown or revoked.
    """
    scheme, _, secret = (header or "").partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise Unauthorized("This server requires a token: send the header 'Authorization: Bearer <token>'.",
                           {"header": "Authorization"})
    digest = hash_token(secret)
    token = ApiToken.query.filter_by(token_hash=digest).one_or_none()
    # compare_digest keeps the check constant-time even though the lookup was by hash
    if token is None or not hmac.compare_digest(token.token_hash, digest) or token.revoked_at is not None:
        raise Unauthorized("The token is unknown or has been revoked.", {"header": "Authorization"})
    now = utcnow()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_S:
        token.last_used_at = now
        db.session.commit()
    return token


def list_tokens() -> list[dict[str, Any]]:
    """Every token's name and dates (never a secret), oldest first."""
    return [{"name": t.name, "created_at": t.created_at, "last_used_at": t.last_used_at, "revoked_at": t.revoked_at}
            for t in ApiToken.query.order_by(ApiToken.created_at, ApiToken.id).all()]


def revoke_token(name: str) -> ApiToken:
    """Revoke a token by name; a revoked token stays listed.

    Raises:
        NotFound: no token has that name.
    """
    token = ApiToken.query.filter_by(name=name).one_or_none()
    if token is None:
        raise NotFound(f"No token named {name!r}.", {"name": name})
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token
