"""Upload page callbacks called directly: they adapt a browser upload to the intake service."""
from __future__ import annotations

import base64
import sys

import pytest
from dash.exceptions import PreventUpdate

from tests.support import dumps


def data_url(data: bytes) -> str:
    return "data:application/octet-stream;base64," + base64.b64encode(data).decode()


@pytest.fixture
def upload_page(live_server):
    """The page module as Dash imported it (Dash imports pages itself, on the first request)."""
    app, _ = live_server
    assert app.test_client().get("/upload").status_code == 200
    with app.test_request_context():
        yield next(module for name, module in sys.modules.items() if name.endswith("pages.upload"))


@pytest.mark.usefixtures("sandbox")
def test_a_model_upload_shows_its_summary_and_enables_the_run(upload_page, forest):
    card, store, disabled = upload_page.store_model(data_url(dumps(forest)), "forest.pkl", None)
    assert store["artifact_id"] and disabled is False
    assert "RandomForestClassifier" in str(card) and "forest is ready" in str(card)


def test_a_bad_file_shows_the_reason_and_stores_nothing(upload_page):
    alert, store, disabled = upload_page.store_model(data_url(b"just some text"), "notes.pkl", None)
    assert store is None and disabled is True
    assert "not a pickle, joblib or skops model" in str(alert.children)


def test_nothing_uploaded_changes_nothing(upload_page):
    with pytest.raises(PreventUpdate):
        upload_page.store_model(None, None, None)
