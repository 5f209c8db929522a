"""Who is calling: a bearer token (always checked when sent), else the signed-in user, else the local user when
``MODELWATCH_AUTH=none``, else nobody. Resolved once per request and kept on ``flask.g``."""
from __future__ import annotations

from flask import current_app, g, has_app_context, has_request_context, request
from flask_login import current_user

from modelwatch.auth.permissions import ANONYMOUS, LOCAL, Principal, token_principal, user_principal
from modelwatch.services.tokens import authenticate

# the values of MODELWATCH_AUTH; "optional" is the old name of "none" (a token sent anyway is still checked)
AUTH_MODES = ("none", "required", "optional")
CLI = Principal("cli", "cli")  # flask commands: the operator at the shell
SYSTEM = Principal("system", "system")  # executor threads and workers, outside any request


def auth_mode() -> str:
    mode = current_app.config.get("AUTH", "none")
    return "none" if mode == "optional" else mode


def resolve_principal() -> Principal:
    """The request's caller; a wrong, revoked or expired token raises ``Unauthorized`` whatever the mode."""
    header = request.headers.get("Authorization")
    if header is not None:
        token = authenticate(header)
        owner = (token.user.id, token.user.username, token.user.role) if token.user else None
        return token_principal(token.id, token.name, token.scopes, owner)
    if current_user.is_authenticated:
        return user_principal(current_user.id, current_user.username, current_user.role)
    return LOCAL if auth_mode() == "none" else ANONYMOUS


def current_principal() -> Principal:
    """The caller of this request (resolved by the gate); outside a request, what the command set, or the system."""
    if not has_request_context():
        return g.get("principal", SYSTEM) if has_app_context() else SYSTEM
    if "principal" not in g:
        g.principal = resolve_principal()
    return g.principal



def resolved_principal() -> Principal:
    """The caller if the gate (or a command) already named one, else the system; never queries the database, so
    that the audit trail's flush events may ask."""
    return g.get("principal", SYSTEM) if has_app_context() else SYSTEM
