"""What the dashboard shows to whom: a control the caller may not use is not rendered (the gate refuses its
callback anyway), and the shell says who is signed in, or that authentication is off."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from modelwatch.auth import csrf
from modelwatch.auth.permissions import ANONYMOUS, Principal, allowed
from modelwatch.auth.principal import auth_mode, current_principal
from modelwatch.errors import ModelwatchError

SHELL_AUTH_BANNER = "shell-auth-banner"
SHELL_USER_MENU = "shell-user-menu"


def _principal() -> Principal:
    """The caller, or nobody: Dash renders the shell once while it sets itself up, before the gate has run."""
    try:
        return current_principal()
    except ModelwatchError:
        return ANONYMOUS


def can(permission: str, resource: Any = None) -> bool:
    """Whether the current caller may do this (for deciding which controls to render)."""
    return allowed(_principal(), permission, resource)


def auth_banner() -> dbc.Alert | None:
    if auth_mode() != "none":
        return None
    return dbc.Alert("Authentication is off (MODELWATCH_AUTH=none): anyone who can reach this server can upload, "
                     "delete and administer. Set MODELWATCH_AUTH=required before sharing it.",
                     color="warning", className="py-1 small mb-2", id=SHELL_AUTH_BANNER)


def user_menu() -> html.Div:
    """The signed-in user's name and role, with a sign-out form (POST, with the CSRF token)."""
    principal = _principal()
    if principal.kind != "user":
        return html.Div(id=SHELL_USER_MENU)
    return html.Div([
        html.Span(f"{principal.name} · {principal.role}", className="text-light small me-2"),
        # a submit button sends its name and value with the form: the CSRF token rides along
        html.Form(html.Button("Sign out", type="submit", name=csrf.FIELD, value=csrf.token(),
                              className="btn btn-sm btn-outline-light", id="shell-logout-button"),
                  method="POST", action="/logout", className="d-inline"),
    ], id=SHELL_USER_MENU, className="d-flex align-items-center")
