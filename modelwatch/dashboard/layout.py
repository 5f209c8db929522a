"""The shell around every page: navbar from the page registry, cross-page stores, the page container."""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

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
        dbc.Container([dbc.NavbarBrand("modelwatch", href="/"), dbc.Nav(links, navbar=True), user_menu()],
                      fluid=True),
        id=ids.SHELL_NAVBAR, color="dark", dark=True, className="mb-3",
    )


def shell() -> html.Div:
    """Rendered per request, so the navbar sees every registered page."""
    return html.Div([
        dcc.Location(id=ids.SHELL_LOCATION, refresh="callback-nav"),
        dcc.Store(id=ids.SHELL_ARTIFACT_STORE, storage_type="session"),
        dcc.Store(id=ids.SHELL_SCHEMA_STORE, storage_type="session"),
        navbar(),
        dbc.Container([auth_banner(), dash.page_container], fluid=True),
    ])
