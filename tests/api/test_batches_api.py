"""Batches and labels over HTTP: paging with a cursor, no champion yet, malformed files, late labels."""
from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from modelwatch.models_monitoring import AlertEvent
from modelwatch.services import alerting, registry
from tests.factories import stored_artifact, stored_run
from tests.monitoring_support import batch_csv, cancer_frame, register_champion


def _post(client, path: str, data: bytes, filename: str = "batch.csv"):
    return client.post(path, data={"data": (io.BytesIO(data), filename)}, content_type="multipart/form-data")


def test_batches_page_with_a_cursor_and_labels_join(client):
    frame = cancer_frame()
    register_champion("pager", frame)
    rng = np.random.default_rng(3)
    sent = [batch_csv(frame, rng, 30, False, i * 30) for i in range(3)]
    ids = [_post(client, "/api/models/pager/batches", data).get_json()["batch"]["id"] for data in sent]
    first = client.get("/api/models/pager/batches?limit=2").get_json()
    assert [b["id"] for b in first["batches"]] == ids[::-1][:2] and "next" in first
    second = client.get(f"/api/models/pager/batches?limit=2&cursor={first['next']}").get_json()
    assert [b["id"] for b in second["batches"]] == [ids[0]] and "next" not in second
    assert first["batches"][0]["drift"]["n_drifted"] >= 0 and "profile" not in first["batches"][0]

    rows = pd.read_csv(io.BytesIO(sent[0]))
    labels = pd.DataFrame({"id": rows["id"], "label": rows["prediction"]}).to_csv(index=False).encode()
    joined = _post(client, "/api/models/pager/labels", labels).get_json()
    assert joined == {"matched": 30, "unmatched": 0, "batches": [ids[0]]}
    oldest = client.get(f"/api/models/pager/batches?limit=1&cursor={ids[1]}").get_json()["batches"][0]
    assert oldest["quality"]["metrics"]["accuracy"] == 1.0


def test_refusals(client):
    assert _post(client, "/api/models/ghost/batches", b"a\n1\n").status_code == 404
    registry.register_version("new", stored_artifact("new"))
    no_champion = _post(client, "/api/models/new/batches", b"a\n1\n")
    assert no_champion.status_code == 409 and no_champion.get_json()["error"]["code"] == "no_champion"
    register_champion("ready", cancer_frame())
    assert _post(client, "/api/models/ready/batches", b"\x00\x01garbage", "x.parquet").status_code == 400
    assert _post(client, "/api/models/ready/batches", b"other\n1\n").status_code == 400
    assert _post(client, "/api/models/ready/labels", b"id\n1\n").status_code == 400
    bad_rule = client.post("/api/models/ready/alerts", json={"metric": "x", "op": ">", "value": "high"})
    assert bad_rule.status_code == 400
    rule = client.post("/api/models/ready/alerts", json={"metric": "drift.share_drifted", "op": ">", "value": 0.5})
    rule_id = rule.get_json()["rule"]["id"]
    assert client.get("/api/models/ready/alerts").get_json()["rules"][0]["id"] == rule_id
    assert client.delete(f"/api/models/ready/alerts?id={rule_id}").status_code == 204
    assert client.delete(f"/api/models/ready/alerts/{rule_id}").status_code == 404


def test_a_run_rule_fires_on_a_failed_verdict(app):
    register_champion("ci", cancer_frame())
    rule = alerting.create_rule("ci", metric="verdict.status", op="==", value="fail", source="run")
    version = registry.get_model("ci").versions[0]
    for passed in (True, False):
        run = stored_run(version.artifact, "ci", result={"performance": {}}, gates={"passed": passed, "checks": []})
        alerting.on_run_finished(run)
    [event] = AlertEvent.query.all()
    assert event.rule_id == rule.id and event.run_id == run.id and event.value == "fail"


@pytest.mark.usefixtures("sandbox")
def test_predictions_are_computed_by_the_champion_in_the_sandbox_when_asked(client, forest, forest_bytes, cancer):
    X, y = cancer
    reference = pd.DataFrame(X.to_numpy()[:200], columns=[f"f{i}" for i in range(X.shape[1])])
    reference["target"] = y.to_numpy()[:200]
    register_champion("sandboxed", reference, target="target", data=forest_bytes)
    batch = reference.drop(columns="target").iloc[200 - 60:]
    answer = _post(client, "/api/models/sandboxed/batches", batch.to_csv(index=False).encode())
    assert answer.status_code == 201 and "prediction" not in answer.get_json()["batch"]
    asked = client.post("/api/models/sandboxed/batches", content_type="multipart/form-data", data={
        "data": (io.BytesIO(batch.to_csv(index=False).encode()), "b.csv"), "predict": "true"})
    assert asked.status_code == 201, asked.get_json()
    prediction = asked.get_json()["batch"]["prediction"]
    expected = forest.predict(batch.to_numpy())
    assert prediction["top"] == {str(k): v for k, v in pd.Series(expected).value_counts(normalize=True).items()}
    assert prediction["drift"]["against"] == "reference labels"


def test_a_quality_rule_is_evaluated_when_late_labels_arrive_for_a_received_batch(client):
    frame = cancer_frame()
    register_champion("late", frame)
    rule = client.post("/api/models/late/alerts",
                       json={"metric": "quality.metrics.accuracy", "op": "<", "value": 0.9}).get_json()["rule"]
    sent = batch_csv(frame, np.random.default_rng(5), 40, False, 0)
    batch_id = _post(client, "/api/models/late/batches", sent).get_json()["batch"]["id"]
    assert client.get("/api/models/late/alerts").get_json()["events"] == []  # no labels: nothing to say yet
    rows = pd.read_csv(io.BytesIO(sent))
    wrong = pd.DataFrame({"id": rows["id"], "label": 1 - rows["prediction"]}).to_csv(index=False).encode()
    for _ in range(2):  # the same labels again: the rule fired on that batch already
        assert _post(client, "/api/models/late/labels", wrong).get_json()["batches"] == [batch_id]
    alerts = client.get("/api/models/late/alerts").get_json()
    assert [(e["rule_id"], e["batch_id"]) for e in alerts["events"]] == [(rule["id"], batch_id)]
    assert alerts["rules"][0]["firing"] and "accuracy" in alerts["events"][0]["message"]
