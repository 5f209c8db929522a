"""The one permission check shared by the REST API and the dashboard: roles, token scopes and ``authorize``.

Plain Python (no Flask): the gate resolves a ``Principal`` per request and asks ``authorize``; adapters ask again
with a resource when the rule depends on it (deleting a run). A per-model owner or team rule goes in
``_resource_allows`` without touching any caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelwatch.errors import Forbidden, Unauthorized

PUBLIC = "public"  # login page, static files, health, the API document
READ = "runs:read"
WRITE = "runs:write"
BATCHES = "batches:write"
ADMIN = "admin"
DELETE_RUN = "runs:delete"  # not a scope: WRITE, and the run must be the caller's own unless they are admins

SCOPES = (READ, WRITE, BATCHES, ADMIN)
ROLES = ("viewer", "editor", "admin")
ROLE_SCOPES = {"viewer": {READ}, "editor": {READ, WRITE, BATCHES}, "admin": {READ, WRITE, BATCHES, ADMIN}}
# a scope grants what it implies: a CI token that may submit may read its run back
IMPLIED = {ADMIN: {READ, WRITE, BATCHES}, WRITE: {READ}, BATCHES: {READ}}
DEFAULT_TOKEN_SCOPES = (READ, WRITE)


def expand(scopes: set[str] | tuple[str, ...] | list[str]) -> frozenset[str]:
    """The scopes plus everything they imply."""
    granted = set(scopes)
    for scope in list(granted):
        granted |= IMPLIED.get(scope, set())
    return frozenset(granted)


@dataclass(frozen=True)
class Principal:
    """Who makes a request: a signed-in user, a bearer token, the local user (``MODELWATCH_AUTH=none``) or
    nobody. ``scopes`` is what they may do, already narrowed to the token owner's role."""

    kind: str  # "user" | "token" | "local" | "anonymous" | "cli" | "system"
    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    user_id: int | None = None
    token_id: int | None = None
    role: str | None = None

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"

    @property
    def actor(self) -> str:
        """How the audit trail names them."""
        return self.name if self.kind in ("local", "cli", "system") else f"{self.kind}:{self.name}"


ANONYMOUS = Principal("anonymous", "anonymous")
LOCAL = Principal("local", "local", expand({ADMIN}))


def user_principal(user_id: int, username: str, role: str) -> Principal:
    return Principal("user", username, expand(ROLE_SCOPES.get(role, set())), user_id=user_id, role=role)


def token_principal(token_id: int, name: str, scopes: list[str] | None, owner: tuple[int, str, str] | None
                    ) -> Principal:
    """A token's principal: its scopes, never more than its owner's role allows (a demoted user's tokens shrink).

    Args:
        owner: ``(user_id, username, role)`` of the token's user, or None for an operator's token.
    """
    granted = expand(scopes if scopes is not None else DEFAULT_TOKEN_SCOPES)
    if owner is None:
        return Principal("token", name, granted, token_id=token_id)
    user_id, username, role = owner
    return Principal("token", name, granted & expand(ROLE_SCOPES.get(role, set())), user_id=user_id,
                     token_id=token_id, role=role)


def allowed(principal: Principal, permission: str, resource: Any = None) -> bool:
    """Whether ``authorize`` would let this through (for hiding controls the caller may not use)."""
    try:
        authorize(principal, permission, resource)
    except (Unauthorized, Forbidden):
        return False
    return True


def authorize(principal: Principal, permission: str, resource: Any = None) -> None:
    """Let the call through or raise.

    Args:
        principal: who calls.
        permission: one of the scopes, ``DELETE_RUN`` or ``PUBLIC``.
        resource: the object acted on, when the rule depends on it (a ``Run`` for ``DELETE_RUN``).

    Raises:
        Unauthorized: nobody is signed in and the permission is not public.
        Forbidden: the caller is known but lacks the permission.
    """
    if permission == PUBLIC:
        return
    if not principal.authenticated:
        raise Unauthorized("Sign in, or send the header 'Authorization: Bearer <token>'.", {"needs": permission})
    needed = WRITE if permission == DELETE_RUN else permission
    if needed not in principal.scopes:
        raise Forbidden(f"This needs the permission {needed!r}, which {principal.actor} does not have.",
                        {"needs": needed, "has": sorted(principal.scopes)})
    if resource is not None and not _resource_allows(principal, permission, resource):
        raise Forbidden(f"Only its owner or an admin may do this ({permission}).", {"needs": permission})


def _resource_allows(principal: Principal, permission: str, resource: Any) -> bool:
    """Rules that depend on the object: editors delete their own runs; admins and the local user any run."""
    if permission == DELETE_RUN and ADMIN not in principal.scopes:
        owner_id = getattr(resource, "owner_id", None)
        if principal.user_id is not None:
            return owner_id == principal.user_id
        return owner_id is None and getattr(resource, "submitted_by", None) == principal.name
    return True
