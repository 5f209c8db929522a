"""Registered models through the API: a named upload is a version, the champion follows the rule or a user's
choice, and a candidate's relative gates compare with the champion's run."""
from __future__ import annotations

import io
import json
import pickle

import pandas as pd
import pytest
from sklearn.ensemble import RandomForestClassifier

from modelwatch.services import registry
from tests.api.fast import fast_config, submit

RELATIVE = {"performance.error_rate": {"max_absolute_change": 0.0, "baseline": "champion"},
            "performance.latency_ms.1.p95": {"max_relative_change": 1e6, "baseline": "champion"}}


def _sample(cancer) -> bytes:
    X, y = cancer
    frame = pd.DataFrame(X.to_numpy()[:120], columns=[f"f{i}" for i in range(X.shape[1])])
    frame["target"] = y.to_numpy()[:120]
    return frame.to_csv(index=False).encode()


@pytest.mark.usefixtures("sandbox")
def test_versions_champion_and_relative_gates(client, forest_bytes, cancer):
    sample = _sample(cancer)
    config = fast_config(thresholds=RELATIVE)
    first = submit(client, forest_bytes, name="credit", config=config, target="target",
                   sample=(io.BytesIO(sample), "sample.csv")).get_json()["run"]
    assert first["status"] == "succeeded", first
    assert first["gates"]["passed"] and first["gates"]["baseline_run"] is None  # the first version

    model = client.get("/api/models/credit").get_json()["model"]
    assert [v["number"] for v in model["versions"]] == [1]
    assert model["champion"] == {"version": 1, "chosen_by": "rule"}
    assert model["versions"][0]["runs"][0]["id"] == first["id"] and model["versions"][0]["has_reference"]

    X, y = cancer
    other = pickle.dumps(RandomForestClassifier(n_estimators=5, max_depth=3, random_state=1).fit(X.to_numpy(), y))
    second = submit(client, other, name="credit", config=config, target="target",
                    sample=(io.BytesIO(sample), "sample.csv")).get_json()["run"]
    assert second["gates"]["baseline_run"] == first["id"]
    check = next(c for c in second["gates"]["checks"] if c["metric"] == "performance.error_rate")
    assert check["baseline_value"] == first["result"]["performance"]["error_rate"]

    listed = client.get("/api/models").get_json()["models"]
    assert [m["name"] for m in listed] == ["credit"] and len(listed[0]["versions"]) == 2
    assert listed[0]["champion"]["version"] == 2  # the latest version whose run passed

    points = registry.trend_points(registry.get_model("credit"))  # the model page's trend chart
    assert [p["run_id"] for p in points] == [first["id"], second["id"]]
    assert "performance.latency_ms.1.p95" in points[0]["metrics"] and points[1]["x"].startswith("v2")

    chosen = client.post("/api/models/credit/champion", json={"version": 1})
    assert chosen.status_code == 200 and chosen.get_json()["model"]["champion"] == {"version": 1, "chosen_by": "user"}
    assert client.post("/api/models/credit/champion", json={"version": 9}).status_code == 404
    assert client.get("/api/models/nobody").status_code == 404
    spec = json.dumps(client.get("/api/openapi.json").get_json())
    assert "/api/models/{name}/batches" in spec and "/api/webhooks/{webhook_id}/deliveries" in spec
