"""The models list, a model's page and its monitoring page, served by the live app and called directly."""
from __future__ import annotations

import sys

import numpy as np

from modelwatch.services import alerting, monitoring
from tests.monitoring_support import batch_csv, cancer_frame, register_champion


def _page(name: str):
    return next(module for key, module in sys.modules.items() if key.endswith(f"pages.{name}"))


def test_model_and_monitoring_pages_show_versions_drift_and_alerts(live_server):
    app, _ = live_server
    with app.app_context():
        frame = cancer_frame()
        register_champion("pages-demo", frame)
        alerting.create_rule("pages-demo", metric="drift.dataset_drift", op="==", value=1)
        rng = np.random.default_rng(5)
        for i in range(6):
            monitoring.ingest_batch("pages-demo", batch_csv(frame, rng, 40, shift=i >= 3, start_id=i * 40))
    client = app.test_client()
    for path in ("/models", "/models/pages-demo", "/monitoring/pages-demo"):
        assert client.get(path).status_code == 200
    with app.test_request_context():
        assert "pages-demo" in str(_page("models").layout())
        model_page = str(_page("model").layout(name="pages-demo"))
        assert "v1" in model_page and "champion" in model_page and "drift.dataset_drift" in model_page
        share, heatmap, prediction, quality, events = _page("monitoring").show("pages-demo", None)
    assert len(share.data[0].x) == 6
    assert max(share.data[0].y[3:]) > max(share.data[0].y[:3])
    z = np.array(heatmap.data[0].z)
    assert z.shape == (5, 6) and z[:, 3:].sum() > z[:, :3].sum()
    assert len(prediction.data) >= 1
    assert "Alerts fired" in str(events) and "drift.dataset_drift" in str(events)
