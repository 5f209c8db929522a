"""Controls a caller may not use are not rendered: the run page's Cancel, for a viewer."""
from __future__ import annotations

import sys

import pytest
from flask import g

from modelwatch.auth.permissions import user_principal


@pytest.fixture
def run_page(live_server):
    app, _ = live_server
    assert app.test_client().get("/history").status_code == 200  # Dash imports the pages on its first request
    return app, next(module for name, module in sys.modules.items() if name.endswith("pages.run"))


@pytest.mark.parametrize(("role", "shown"), [("viewer", False), ("editor", True), ("admin", True)])
def test_cancel_is_shown_only_to_writers(run_page, role, shown):
    app, page = run_page
    running = {"id": "r1", "status": "running"}
    with app.test_request_context("/runs/r1"):
        g.principal = user_principal(1, "someone", role)
        rendered = str(page.actions(running))
    assert ("run-cancel-button" in rendered) is shown
