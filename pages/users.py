"""Users (admins): create users, change roles, create tokens (the secret is shown once) and revoke them."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html

from modelwatch.auth.permissions import ADMIN, DEFAULT_TOKEN_SCOPES, ROLES, SCOPES
from modelwatch.dashboard.access import can
from modelwatch.errors import ModelwatchError
from modelwatch.services import tokens, users

dash.register_page(__name__, path="/users", name="Users", order=8, title="Users · modelwatch", permission=ADMIN)

USERS_TABLE_DIV = "users-table-div"
USERS_TOKENS_DIV = "users-tokens-div"
USERS_CHANGED_STORE = "users-changed-store"
USERS_NAME_INPUT = "users-name-input"
USERS_EMAIL_INPUT = "users-email-input"
USERS_PASSWORD_INPUT = "users-password-input"
USERS_ROLE_DROPDOWN = "users-role-dropdown"
USERS_CREATE_BUTTON = "users-create-button"
USERS_CREATE_FEEDBACK = "users-create-feedback"
USERS_ROLE_USER_DROPDOWN = "users-role-user-dropdown"
USERS_NEW_ROLE_DROPDOWN = "users-new-role-dropdown"
USERS_ROLE_BUTTON = "users-role-button"
USERS_ROLE_FEEDBACK = "users-role-feedback"
USERS_TOKEN_NAME_INPUT = "users-token-name-input"
USERS_TOKEN_USER_DROPDOWN = "users-token-user-dropdown"
USERS_TOKEN_SCOPES_CHECKLIST = "users-token-scopes-checklist"
USERS_TOKEN_DAYS_INPUT = "users-token-days-input"
USERS_TOKEN_CREATE_BUTTON = "users-token-create-button"
USERS_TOKEN_SECRET_DIV = "users-token-secret-div"
USERS_REVOKE_DROPDOWN = "users-revoke-dropdown"
USERS_REVOKE_BUTTON = "users-revoke-button"
USERS_REVOKE_FEEDBACK = "users-revoke-feedback"


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def _table(header: list[str], rows: list[list[str]]) -> dbc.Table:
    return dbc.Table([html.Thead(html.Tr([html.Th(h) for h in header])),
                      html.Tbody([html.Tr([html.Td(c) for c in row]) for row in rows])],
                     size="sm", striped=True, className="small")


def layout(**_kwargs) -> html.Div:
    if not can(ADMIN):
        return dbc.Alert("Only admins manage users and tokens.", color="secondary", id="users-forbidden-alert")
    roles = [{"label": r, "value": r} for r in ROLES]
    return html.Div([
        dcc.Store(id=USERS_CHANGED_STORE, data=0),
        html.H2("Users"),
        html.Div(id=USERS_TABLE_DIV),
        dbc.Row([
            dbc.Col([html.H5("Create a user"),
                     dbc.Input(id=USERS_NAME_INPUT, placeholder="username", className="mb-1"),
                     dbc.Input(id=USERS_EMAIL_INPUT, placeholder="email (optional)", className="mb-1"),
                     dbc.Input(id=USERS_PASSWORD_INPUT, type="password", placeholder="password (10+ characters)",
                               className="mb-1", autoComplete="new-password"),
                     dcc.Dropdown(id=USERS_ROLE_DROPDOWN, options=roles, value="viewer", clearable=False,
                                  className="mb-1"),
                     dbc.Button("Create user", id=USERS_CREATE_BUTTON, color="primary", size="sm"),
                     html.Div(id=USERS_CREATE_FEEDBACK, className="small mt-1")], md=4),
            dbc.Col([html.H5("Change a role"),
                     dcc.Dropdown(id=USERS_ROLE_USER_DROPDOWN, placeholder="user", className="mb-1"),
                     dcc.Dropdown(id=USERS_NEW_ROLE_DROPDOWN, options=roles, placeholder="new role",
                                  className="mb-1"),
                     dbc.Button("Change role", id=USERS_ROLE_BUTTON, color="secondary", size="sm"),
                     html.Div(id=USERS_ROLE_FEEDBACK, className="small mt-1")], md=4),
        ], className="mb-4"),
        html.H2("API tokens"),
        html.Div(id=USERS_TOKENS_DIV),
        dbc.Row([
            dbc.Col([html.H5("Create a token"),
                     dbc.Input(id=USERS_TOKEN_NAME_INPUT, placeholder="name, e.g. ci-main", className="mb-1"),
                     dcc.Dropdown(id=USERS_TOKEN_USER_DROPDOWN, placeholder="owner (none: an operator's token)",
                                  className="mb-1"),
                     dbc.Checklist(id=USERS_TOKEN_SCOPES_CHECKLIST, options=list(SCOPES),
                                   value=list(DEFAULT_TOKEN_SCOPES), inline=True, className="mb-1"),
                     dbc.Input(id=USERS_TOKEN_DAYS_INPUT, type="number", min=1, max=3650,
                               placeholder="expires after N days (empty: never)", className="mb-1"),
                     dbc.Button("Create token", id=USERS_TOKEN_CREATE_BUTTON, color="primary", size="sm"),
                     html.Div(id=USERS_TOKEN_SECRET_DIV, className="small mt-1")], md=5),
            dbc.Col([html.H5("Revoke a token"),
                     dcc.Dropdown(id=USERS_REVOKE_DROPDOWN, placeholder="token", className="mb-1"),
                     dbc.Button("Revoke", id=USERS_REVOKE_BUTTON, color="outline-danger", size="sm"),
                     html.Div(id=USERS_REVOKE_FEEDBACK, className="small mt-1")], md=4),
        ]),
    ])


@callback(Output(USERS_TABLE_DIV, "children"), Output(USERS_TOKENS_DIV, "children"),
          Output(USERS_ROLE_USER_DROPDOWN, "options"), Output(USERS_TOKEN_USER_DROPDOWN, "options"),
          Output(USERS_REVOKE_DROPDOWN, "options"), Input(USERS_CHANGED_STORE, "data"))
def refresh(_changed):
    people = users.list_users()
    keys = tokens.list_tokens()
    user_table = _table(["username", "email", "role", "created", "last sign-in"],
                        [[u["username"], u["email"] or "-", u["role"], _when(u["created_at"]),
                          _when(u["last_login_at"])] for u in people])
    token_table = _table(["name", "user", "scopes", "created", "expires", "last used", "revoked"],
                         [[t["name"], t["user"] or "-", ", ".join(t["scopes"]), _when(t["created_at"]),
                           _when(t["expires_at"]), _when(t["last_used_at"]), _when(t["revoked_at"])] for t in keys])
    names = [u["username"] for u in people]
    live = [t["name"] for t in keys if t["revoked_at"] is None]
    return user_table, token_table, names, names, live


@callback(Output(USERS_CREATE_FEEDBACK, "children"), Output(USERS_CHANGED_STORE, "data", allow_duplicate=True),
          Input(USERS_CREATE_BUTTON, "n_clicks"), State(USERS_NAME_INPUT, "value"), State(USERS_EMAIL_INPUT, "value"),
          State(USERS_PASSWORD_INPUT, "value"), State(USERS_ROLE_DROPDOWN, "value"),
          State(USERS_CHANGED_STORE, "data"), prevent_initial_call=True)
def create_user(_clicks, username, email, password, role, changed):
    try:
        user = users.create_user(username or "", password or "", role or "viewer", email)
    except ModelwatchError as exc:
        return exc.message, dash.no_update
    return f"Created {user.username} ({user.role}).", (changed or 0) + 1


@callback(Output(USERS_ROLE_FEEDBACK, "children"), Output(USERS_CHANGED_STORE, "data", allow_duplicate=True),
          Input(USERS_ROLE_BUTTON, "n_clicks"), State(USERS_ROLE_USER_DROPDOWN, "value"),
          State(USERS_NEW_ROLE_DROPDOWN, "value"), State(USERS_CHANGED_STORE, "data"), prevent_initial_call=True)
def change_role(_clicks, username, role, changed):
    try:
        user = users.set_role(username or "", role or "")
    except ModelwatchError as exc:
        return exc.message, dash.no_update
    return f"{user.username} is now {user.role}.", (changed or 0) + 1


@callback(Output(USERS_TOKEN_SECRET_DIV, "children"), Output(USERS_CHANGED_STORE, "data", allow_duplicate=True),
          Input(USERS_TOKEN_CREATE_BUTTON, "n_clicks"), State(USERS_TOKEN_NAME_INPUT, "value"),
          State(USERS_TOKEN_USER_DROPDOWN, "value"), State(USERS_TOKEN_SCOPES_CHECKLIST, "value"),
          State(USERS_TOKEN_DAYS_INPUT, "value"), State(USERS_CHANGED_STORE, "data"), prevent_initial_call=True)
def create_token(_clicks, name, username, scopes, days, changed):
    try:
        owner = users.get_user(username) if username else None
        token, secret = tokens.create_token(name or "", owner, scopes or None, int(days) if days else None)
    except ModelwatchError as exc:
        return exc.message, dash.no_update
    return dbc.Alert([html.Div(f"Token {token.name} — copy it now, it is shown only this once:"),
                      html.Code(secret, id="users-token-secret-code")], color="success"), (changed or 0) + 1


@callback(Output(USERS_REVOKE_FEEDBACK, "children"), Output(USERS_CHANGED_STORE, "data", allow_duplicate=True),
          Input(USERS_REVOKE_BUTTON, "n_clicks"), State(USERS_REVOKE_DROPDOWN, "value"),
          State(USERS_CHANGED_STORE, "data"), prevent_initial_call=True)
def revoke_token(_clicks, name, changed):
    try:
        tokens.revoke_token(name or "")
    except ModelwatchError as exc:
        return exc.message, dash.no_update
    return f"Revoked {name}.", (changed or 0) + 1
