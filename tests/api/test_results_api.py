"""GET /api/runs/<id>/result/<section>, and the verdict a real run stores (with its quality baseline)."""
from __future__ import annotations

import io

import pandas as pd
import pytest

from tests.api.fast import FAST_CONFIG, assert_error, fast_config, submit


def _sample(cancer) -> bytes:
    X, y = cancer
    frame = pd.DataFrame(X.to_numpy()[::3], columns=[f"f{i}" for i in range(X.shape[1])])
    frame["label"] = y.to_numpy()[::3]
    out = io.StringIO()
    frame.to_csv(out, index=False)
    return out.getvalue().encode()


@pytest.mark.usefixtures("sandbox")
def test_sections_of_a_finished_run_and_its_verdict(client, forest_bytes, cancer):
    response = submit(client, forest_bytes, config=fast_config(), target="label",
                      sample=(io.BytesIO(_sample(cancer)), "sample.csv"))
    run = response.get_json()["run"]
    assert run["status"] == "succeeded", run["error"]
    verdict = run["verdict"]
    assert verdict == run["result"]["verdict"] and verdict["status"] in ("pass", "warn", "fail", "incomplete")
    quality = next(c for c in verdict["checks"] if c["section"] == "quality")
    assert quality["status"] == "pass", quality  # a forest fitted on these rows beats the majority class
    assert run["result"]["quality"]["baseline"]["strategy"].startswith("prior")

    base = f"/api/runs/{run['id']}/result"
    assert client.get(f"{base}/verdict").get_json() == verdict
    assert client.get(f"{base}/performance").get_json() == run["result"]["performance"]
    assert client.get(f"{base}/quality").get_json()["baseline"] == run["result"]["quality"]["baseline"]
    error = assert_error(client.get(f"{base}/nothing"), 404, "not_found")
    assert "performance" in error["details"]["valid"]
    assert_error(client.get("/api/runs/nope/result/verdict"), 404, "not_found")
    listed = client.get("/api/runs").get_json()["runs"][0]
    assert "result" not in listed and "verdict" not in listed
    doc = client.get("/api/openapi.json").get_json()
    assert "/api/runs/{run_id}/result/{section}" in doc["paths"]
    assert "verdict" in doc["components"]["schemas"]["Run"]["properties"]


@pytest.mark.usefixtures("sandbox")
def test_a_run_without_labels_is_at_best_warn(client, forest_bytes):
    run = submit(client, forest_bytes, config=fast_config()).get_json()["run"]
    assert run["verdict"]["status"] in ("warn", "incomplete", "fail")
    assert client.get(f"/api/runs/{run['id']}/result/quality").get_json() is None
    assert FAST_CONFIG["n_samples"] == client.get(f"/api/runs/{run['id']}/result/data").get_json()["n_samples"]
