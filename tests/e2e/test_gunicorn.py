"""The API once more through a real ``gunicorn wsgi:server`` on loopback: the contract, load, and faults.

The server runs as it does in production (2 gthread workers, runs in each worker's thread pool, tokens required)
on a temporary SQLite file migrated with ``flask db upgrade``; the token comes from ``flask tokens create``.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.api.fast import PASSING_GATES, assert_error, fast_config
from tests.support import free_port, require

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
N_LOAD = 20
HEALTH_BOUND_S = 1.0


class Server:
    """A gunicorn process and what the tests need to talk to it."""

    def __init__(self, tmp: Path, database_url: str, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "gunicorn.log"
        self.env = {**os.environ, "DATABASE_URL": database_url, "PORT": str(self.port), "HOST": "127.0.0.1",
                    "WEB_CONCURRENCY": "2", "MODELWATCH_WORKERS": "2", "MODELWATCH_AUTH": "required",
                    "MODELWATCH_MAX_WAIT_S": "120", **env}  # the tests wait for whole runs on a loaded machine
        self.env.pop("MODELWATCH_ENV", None)
        self.process: subprocess.Popen | None = None

    def flask(self, *args: str) -> str:
        done = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> Server:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([str(BIN / "gunicorn"), "wsgi:server"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if requests.get(f"{self.url}/api/health", timeout=2).status_code in (200, 503):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError("gunicorn did not answer within 90 s:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require(Path(BIN / "gunicorn").exists(), "gunicorn is not installed in the venv")
    tmp = tmp_path_factory.mktemp("gunicorn")
    served = Server(tmp, f"sqlite:///{tmp / 'modelwatch.db'}")
    served.flask("db", "upgrade")
    served.token = served.flask("tokens", "create", "--name", "e2e").strip()
    served.db_path = tmp / "modelwatch.db"
    yield served.start()
    served.stop()


def post_run(server, data: bytes, query: str = "", token: str | None = "", **fields):
    token = server.token if token == "" else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(f"{server.url}/run_tests{query}", files={"model": ("forest.pkl", data)}, data=fields,
                         headers=headers, timeout=180)


def api_get(server, path: str):
    """A read with the server's token: with MODELWATCH_AUTH=required reads need one too."""
    return requests.get(f"{server.url}{path}", headers={"Authorization": f"Bearer {server.token}"}, timeout=10)


def wait_finished(server, run_id: str, seconds: float = 180) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = api_get(server, f"/api/runs/{run_id}").json()["run"]
        if run["status"] in ("succeeded", "failed"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {run['status']} after {seconds} s")


def test_the_contract_through_gunicorn(server, forest_bytes):
    doc = requests.get(f"{server.url}/api/openapi.json", timeout=10).json()
    assert "/run_tests" in doc["paths"] and doc["components"]["securitySchemes"]["bearerAuth"]
    page = requests.get(f"{server.url}/api/docs", timeout=10)
    assert page.status_code == 200 and "swagger-ui-bundle.js" in page.text
    assert requests.get(f"{server.url}/api/docs/static/swagger-ui-bundle.js", timeout=10).status_code == 200

    assert_error(post_run(server, forest_bytes, token=None), 401, "unauthorized")
    assert_error(post_run(server, forest_bytes, token="mw_wrong"), 401, "unauthorized")
    assert_error(post_run(server, b"plain text"), 415, "unsupported_format")
    gate = fast_config(thresholds={"performance.latency_ms.7.p95": {"max": 1}})
    assert "performance.latency_ms.1.p95" in assert_error(post_run(server, forest_bytes, config=gate), 400,
                                                          "bad_request")["details"]["valid"]
    assert_error(requests.get(f"{server.url}/api/runs/nope", timeout=10), 401, "unauthorized")
    assert_error(api_get(server, "/api/runs/nope"), 404, "not_found")

    finished = post_run(server, forest_bytes, "?wait=120", config=fast_config(thresholds=PASSING_GATES))
    assert finished.status_code == 200, finished.text
    run = finished.json()["run"]
    assert run["status"] == "succeeded" and run["gates"]["passed"] is True and run["submitted_by"] == "e2e"
    assert run["result"]["model"]["intake"]["sandbox"]["mode"] == "zygote"  # the worker's warm sandbox process ran it

    queued = post_run(server, forest_bytes, config=fast_config())
    assert queued.status_code == 202 and queued.headers["Location"] == f"/api/runs/{queued.json()['run']['id']}"
    assert wait_finished(server, queued.json()["run"]["id"])["status"] == "succeeded"
    delete = requests.delete(f"{server.url}{queued.headers['Location']}",
                             headers={"Authorization": f"Bearer {server.token}"}, timeout=10)
    assert delete.status_code == 204


def test_twenty_simultaneous_submissions_all_complete_and_health_keeps_answering(server, forest_bytes):
    # the model is stored and inspected once (as after a pipeline's first run); the burst measures the queue
    assert post_run(server, forest_bytes, "?wait=120", config=fast_config()).status_code == 200
    before = api_get(server, "/api/runs?limit=1").json()["total"]
    health_times, running_seen, stop = [], [], threading.Event()

    def watch() -> None:
        while not stop.is_set():
            start = time.monotonic()
            try:
                status = requests.get(f"{server.url}/api/health", timeout=30).status_code
            except requests.RequestException as exc:
                status = repr(exc)
            health_times.append((time.monotonic() - start, status))
            with sqlite3.connect(server.db_path, timeout=10) as con:  # counted beside the server, not through it
                running_seen.append(con.execute("SELECT COUNT(*) FROM run WHERE status = 'running'").fetchone()[0])
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        with ThreadPoolExecutor(N_LOAD) as pool:
            answers = list(pool.map(lambda _: post_run(server, forest_bytes, config=fast_config()), range(N_LOAD)))
        assert [a.status_code for a in answers].count(202) + [a.status_code for a in answers].count(200) == N_LOAD
        ids = {a.json()["run"]["id"] for a in answers}
        runs = [wait_finished(server, run_id, 300) for run_id in ids]
    finally:
        stop.set()
        watcher.join(timeout=15)
    assert len(ids) == N_LOAD and all(run["status"] == "succeeded" for run in runs), [r["error"] for r in runs]
    assert api_get(server, "/api/runs?limit=1").json()["total"] == before + N_LOAD
    # 2 workers x 2 run threads: the rest waited in the queue, none was dropped
    assert max(running_seen) <= 4
    assert all(status == 200 for _, status in health_times)
    slowest = max(seconds for seconds, _ in health_times)
    assert len(health_times) >= 5 and slowest < HEALTH_BOUND_S, f"health took {slowest:.2f} s"



def _worker_of(db_path: Path, run_id: str) -> int | None:
    with sqlite3.connect(db_path, timeout=10) as con:
        row = con.execute("SELECT status, worker FROM run WHERE id = ?", (run_id,)).fetchone()
    if row and row[0] == "running" and row[1]:
        return int(row[1].rsplit(":", 1)[1])
    return None


def test_a_worker_killed_mid_request_leaves_no_run_running(server, forest_bytes):
    """The gunicorn worker executing a run is killed mid-run: the run is queued again once and its retry succeeds.
    The request waiting for it fails with the worker that held it, or, when the other worker claimed the run (each
    polls the queue), that one answers with the retried run."""
    # a precision the latency timer never reaches: it times to its budget, so the run is still going when killed
    slow = fast_config(n_samples=20_000, batch_sizes=[1, 1000], performance={
        "latency_budget_s": 8, "error_budget_s": 8, "latency_precision": 1e-6})
    outcome: dict = {}

    def call() -> None:
        try:
            outcome["response"] = post_run(server, forest_bytes, "?wait=120", config=slow)
        except requests.RequestException as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=call)
    caller.start()
    deadline, pid, run_id = time.monotonic() + 60, None, None
    while pid is None and time.monotonic() < deadline:
        listed = api_get(server, "/api/runs?status=running&limit=5").json()["runs"]
        for run in listed:
            pid, run_id = _worker_of(server.db_path, run["id"]), run["id"]
            if pid:
                break
        time.sleep(0.1)
    assert pid, "the run never started"
    os.kill(pid, signal.SIGKILL)
    # the janitor of a live worker queues the orphan again (execution/recovery.py): its retry runs to the end
    run = wait_finished(server, run_id, 180)
    assert run["status"] == "succeeded", run["error"]
    with sqlite3.connect(server.db_path, timeout=10) as con:
        assert con.execute("SELECT attempts FROM run WHERE id = ?", (run_id,)).fetchone() == (1,)
    caller.join(timeout=60)  # a waiting request hears of the finish within 0.1 s
    assert "error" in outcome or "response" in outcome, "the request neither failed nor was answered"
    response = outcome.get("response")
    assert "error" in outcome or response.status_code >= 500 or (
        response.status_code == 200 and response.json()["run"]["status"] == "succeeded"), response.text
    assert requests.get(f"{server.url}/api/health", timeout=10).status_code == 200  # gunicorn replaced the worker


def test_database_unavailable_gives_a_degraded_health_and_503(tmp_path, forest_bytes):
    require(Path(BIN / "gunicorn").exists(), "gunicorn is not installed in the venv")
    nowhere = f"postgresql://modelwatch:x@127.0.0.1:{free_port()}/modelwatch"  # nothing listens there
    down = Server(tmp_path, nowhere, WEB_CONCURRENCY="1", MODELWATCH_AUTH="optional").start()
    try:
        health = requests.get(f"{down.url}/api/health", timeout=10)
        assert health.status_code == 503 and health.json()["database"] == "unavailable"
        assert_error(post_run(down, forest_bytes, token=None, config=fast_config()), 503, "service_unavailable")
        assert_error(requests.get(f"{down.url}/api/runs", timeout=10), 503, "service_unavailable")
    finally:
        down.stop()
