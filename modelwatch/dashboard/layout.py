"""The shell around every page: navbar from the page registry (collapsed behind a toggler on phones), cross-page
stores, the page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Input, Output, State, clientside_callback, dcc, html

from modelwatch.auth.permissions import READ
from modelwatch.dashboard import ids
from modelwatch.dashboard.access import auth_banner, can, user_menu


def navbar() -> dbc.Navbar:
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
        for page in dash.page_registry.values()
        if page.get("order") is not None and "<" not in page["path"] and can(page.get("permission", READ))
    ]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand("modelwatch", href="/"),
            dbc.NavbarToggler(id=ids.SHELL_NAVBAR_TOGGLER, n_clicks=0),
            dbc.Collapse([dbc.Nav(links, navbar=True, className="me-auto"), user_menu()],
                         id=ids.SHELL_NAVBAR_COLLAPSE, is_open=False, navbar=True),
        ], fluid=True),
        id=ids.SHELL_NAVBAR, color="dark", dark=True, expand="md", className="mb-3",
    )


# the toggler opens and closes the links on a phone; following a link closes them (assets/shell.js, no server trip)
clientside_callback(ClientsideFunction("modelwatch", "navbarOpen"),
                    Output(ids.SHELL_NAVBAR_COLLAPSE, "is_open"),
                    Input(ids.SHELL_NAVBAR_TOGGLER, "n_clicks"), Input(ids.SHELL_LOCATION, "pathname"),
                    State(ids.SHELL_NAVBAR_COLLAPSE, "is_open"), prevent_initial_call=True)


def shell() -> html.Div:
    """Rendered per request, so the navbar sees every registered page."""
    return html.Div([
        dcc.Location(id=ids.SHELL_LOCATION, refresh="callback-nav"),
        dcc.Store(id=ids.SHELL_ARTIFACT_STORE, storage_type="session"),
        dcc.Store(id=ids.SHELL_SCHEMA_STORE, storage_type="session"),
        navbar(),
        dbc.Container([auth_banner(), dash.page_container], fluid=True),
    ])
