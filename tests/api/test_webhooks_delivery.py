"""Webhooks end to end: a real HTTP receiver on loopback gets signed alert deliveries, a receiver that fails twice
gets the third attempt, a tampered body or signature fails the documented check, and only allowed destinations."""
from __future__ import annotations

import io
import threading
import time

import numpy as np
import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from modelwatch.app import create_app
from modelwatch.core.monitoring.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from modelwatch.extensions import db
from tests.conftest import make_config
from tests.monitoring_support import batch_csv, cancer_frame, register_champion

WAIT_CEILING_S = 30


class Receiver:
    """A tiny Flask app on a loopback port that records what it gets and fails the first ``fail_first`` calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first, self.got = fail_first, []
        app = Flask("receiver")
        app.add_url_rule("/hooks/alerts", "hook", self._hook, methods=["POST"])
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _hook(self):
        self.got.append((dict(request.headers), request.get_data()))
        return ("down", 500) if len(self.got) <= self.fail_first else ("ok", 200)

    def wait_for(self, n: int) -> None:
        deadline = time.monotonic() + WAIT_CEILING_S
        while len(self.got) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.got) >= n, f"received {len(self.got)} of {n} deliveries"


@pytest.fixture
def receiver():
    made = []

    def start(fail_first: int = 0) -> Receiver:
        made.append(Receiver(fail_first))
        return made[-1]
    yield start
    for r in made:
        r.server.shutdown()


@pytest.fixture
def hook_app(db_url):
    app = create_app(make_config(db_url, WEBHOOK_ALLOWLIST=["http://127.0.0.1:8080/hooks/"], WEBHOOK_BACKOFF_S=0.05))
    with app.app_context():
        db.drop_all()
        db.create_all()
        yield app
        db.session.remove()
        db.drop_all()


def _drifted_batch(client, name: str):
    frame = cancer_frame()
    data = batch_csv(frame, np.random.default_rng(0), 80, shift=True, start_id=0)
    return client.post(f"/api/models/{name}/batches", data={"data": (io.BytesIO(data), "batch.csv")},
                       content_type="multipart/form-data")


def _setup(client, url: str, fmt: str = "json") -> dict:
    client.application.config["WEBHOOK_ALLOWLIST"] = [url.rsplit("/", 1)[0] + "/"]  # the admin allows /hooks/
    register_champion("fraud", cancer_frame())
    hook = client.post("/api/webhooks", json={"url": url, "format": fmt})
    assert hook.status_code == 201, hook.get_json()
    rule = client.post("/api/models/fraud/alerts", json={"metric": "drift.share_drifted", "op": ">", "value": 0.3})
    assert rule.status_code == 201, rule.get_json()
    return hook.get_json()["webhook"]


def _deliveries(client, hook_id: int) -> list[dict]:
    deadline = time.monotonic() + WAIT_CEILING_S
    while True:
        found = client.get(f"/api/webhooks/{hook_id}/deliveries").get_json()["deliveries"]
        if (found and found[0]["status"] in ("delivered", "failed")) or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_a_signed_alert_reaches_the_receiver_and_tampering_is_detectable(hook_app, receiver):
    client = hook_app.test_client()
    target = receiver()
    hook = _setup(client, target.url)
    assert _drifted_batch(client, "fraud").status_code == 201
    target.wait_for(1)
    headers, body = target.got[0]
    stamp, signature = headers[TIMESTAMP_HEADER], headers[SIGNATURE_HEADER]
    assert signature.startswith("sha256=")
    assert verify(hook["secret"], stamp, body, signature, now=time.time())
    assert not verify(hook["secret"], stamp, body.replace(b"fraud", b"frauD"), signature, now=time.time())
    assert not verify(hook["secret"], stamp, body, signature[:-1] + ("0" if signature[-1] != "0" else "1"),
                      now=time.time())
    assert not verify(hook["secret"], stamp, body, signature, now=time.time() + 3600)  # a replay, an hour later
    assert b'"model":"fraud"' in body and b"drift.share_drifted" in body
    assert _deliveries(client, hook["id"])[0]["status"] == "delivered"


def test_a_receiver_failing_twice_gets_the_third_attempt(hook_app, receiver):
    client = hook_app.test_client()
    target = receiver(fail_first=2)
    hook = _setup(client, target.url, fmt="slack")
    assert _drifted_batch(client, "fraud").status_code == 201
    target.wait_for(3)
    [delivery] = _deliveries(client, hook["id"])
    assert delivery["status"] == "delivered" and delivery["attempts"] == 3 and delivery["last_status_code"] == 200
    stamps = [int(h[TIMESTAMP_HEADER]) for h, _ in target.got]
    assert stamps == sorted(stamps)
    assert target.got[2][1].startswith(b'{"text":')  # Slack-compatible body


def test_destinations_off_the_allowlist_are_refused(hook_app):
    client = hook_app.test_client()
    for url in ("http://10.0.0.1/hooks/", "http://127.0.0.1:8080@evil.example/hooks/", "http://127.0.0.1:8080/admin"):
        answer = client.post("/api/webhooks", json={"url": url})
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden", url
    assert client.get("/api/webhooks").get_json() == {"webhooks": []}
