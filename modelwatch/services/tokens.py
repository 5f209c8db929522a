"""API tokens as use cases: create (the secret is shown once), authenticate, list, revoke. Only sha256 is stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from modelwatch.auth.permissions import DEFAULT_TOKEN_SCOPES, SCOPES
from modelwatch.errors import BadRequest, NotFound, Unauthorized
from modelwatch.extensions import db
from modelwatch.models import ApiToken, User, utcnow

TOKEN_PREFIX = "mw_"
# last_used_at is a hint for operators; writing it on every request would serialise submissions on SQLite
LAST_USED_RESOLUTION_S = 60
MAX_EXPIRY_DAYS = 3650


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(name: str, user: User | None = None, scopes: list[str] | tuple[str, ...] | None = None,
                 expires_in_days: int | None = None) -> tuple[ApiToken, str]:
    """Create a named token and return it with its secret (the only time the secret exists).

    Args:
        name: unique label (who or what uses it).
        user: the owner; the token never does more than the owner's role allows. None: an operator's token.
        scopes: subset of ``runs:read``, ``runs:write``, ``batches:write``, ``admin`` (default read and write).
        expires_in_days: None for a token that does not expire.

    Raises:
        BadRequest: the name is empty, too long or already used; an unknown scope; a bad expiry.
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise BadRequest("A token needs a name of 1 to 100 characters.", {"field": "name"})
    if ApiToken.query.filter_by(name=name).one_or_none() is not None:
        raise BadRequest(f"A token named {name!r} already exists; revoke it or pick another name.", {"name": name})
    scopes = list(dict.fromkeys(scopes or DEFAULT_TOKEN_SCOPES))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise BadRequest(f"Unknown scope {unknown[0]!r}.", {"field": "scopes", "valid": list(SCOPES)})
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise BadRequest(f"A token expires after 1 to {MAX_EXPIRY_DAYS} days.", {"field": "expires_in_days"})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    token = ApiToken(name=name, token_hash=hash_token(secret), user=user, scopes=scopes, expires_at=expires_at)
    db.session.add(token)
    db.session.commit()
    return token, secret


def authenticate(header: str | None) -> ApiToken:
    """The live token named by an ``Authorization: Bearer <token>`` header.

    Raises:
        Unauthorized: the header is missing or malformed, or the token is unknown, revoked or expired, or its
            user is deactivated.
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
    if token.expires_at is not None and token.expires_at <= now:
        raise Unauthorized("The token has expired; create a new one.", {"header": "Authorization"})
    if token.user is not None and not token.user.active:
        raise Unauthorized("The token's user is deactivated.", {"header": "Authorization"})
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_S:
        token.last_used_at = now
        db.session.commit()
    return token


def list_tokens(user: User | None = None) -> list[dict[str, Any]]:
    """Tokens (all, or one user's): name, owner, scopes and dates, never a secret; oldest first."""
    query = ApiToken.query if user is None else ApiToken.query.filter_by(user_id=user.id)
    return [{"name": t.name, "user": t.user.username if t.user else None,
             "scopes": list(t.scopes or DEFAULT_TOKEN_SCOPES), "created_at": t.created_at,
             "expires_at": t.expires_at, "last_used_at": t.last_used_at, "revoked_at": t.revoked_at}
            for t in query.order_by(ApiToken.created_at, ApiToken.id).all()]


def get_token(name: str) -> ApiToken:
    """Raises: NotFound: no token has that name."""
    token = ApiToken.query.filter_by(name=name).one_or_none()
    if token is None:
        raise NotFound(f"No token named {name!r}.", {"name": name})
    return token


def revoke_token(name: str) -> ApiToken:
    """Revoke a token by name; a revoked token stays listed.

    Raises:
        NotFound: no token has that name.
    """
    token = get_token(name)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    return token
