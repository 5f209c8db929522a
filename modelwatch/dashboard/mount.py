"""Mount the Dash app on the Flask server, once per process (Dash keeps pages in global registries)."""
from __future__ import annotations

from pathlib import Path

from dash import Dash
from flask import Flask

from modelwatch.auth import csrf
from modelwatch.dashboard import tabs  # noqa: F401 - imports every tab renderer: Dash reads their callbacks once
from modelwatch.dashboard.layout import shell

ROOT = Path(__file__).resolve().parents[2]


def mount_dashboard(server: Flask) -> Dash:
    """Serve the pages in ``pages/`` at the root of ``server``; assets come from ``assets/`` (no CDN)."""
    app = Dash(
        "modelwatch", server=False, use_pages=True, pages_folder=str(ROOT / "pages"),
        assets_folder=str(ROOT / "assets"), title="modelwatch", suppress_callback_exceptions=True,
        serve_locally=True, update_title=None,
        # the renderer copies this cookie into this header on every callback: the gate's CSRF check for sessions
        csrf_token_name=csrf.COOKIE, csrf_header_name=csrf.HEADER,
    )
    app.layout = shell
    app.init_app(server)
    server.extensions["dash"] = app
    return app
