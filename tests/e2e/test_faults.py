"""The fault matrix (issue #18): each case ends with every run succeeded, failed with the right code, or
cancelled; none is left queued or running after the bound.

- Redis restarted without persistence while runs wait in its queue (Celery): the sweeper re-sends them.
- A Celery pool process killed with SIGKILL mid-run: the run is queued again and succeeds on its retry.
- PostgreSQL stopped mid-run: a run spanning the outage succeeds; one that ends while the database stays away
  fails with ``database_unavailable`` (not ``worker_lost``) once it is back.
- SIGTERM to gunicorn mid-run: the run is queued again, and a restarted server executes it with no request.
- Two CPU hogs while the Celery worker starts and runs arrive: each run succeeds, times out or is cancelled.

Each case starts its own servers (a private Redis, PostgreSQL cluster or gunicorn), so stopping them harms no
other test; the recovery bounds are shortened through the documented settings.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from modelwatch.app import create_app
from modelwatch.execution import recovery
from modelwatch.execution.background import shutdown, start_background
from modelwatch.execution.executors import get_executor
from modelwatch.extensions import db
from modelwatch.models import Run
from modelwatch.services import artifacts, runs
from tests.api.fast import FAST_CONFIG
from tests.conftest import make_config
from tests.e2e.test_gunicorn import BIN, ROOT, Server
from tests.e2e.waiting import cpu_hog
from tests.services.test_executor import CeleryWorker
from tests.support import dumps, free_port, require

pytestmark = pytest.mark.faults
PG_BIN = Path("/usr/lib/postgresql/15/bin")
# a precision the latency timer never reaches: it times until its budget or its call cap, on any machine
SLOW = {**FAST_CONFIG, "n_samples": 2000, "batch_sizes": [1, 100],
        "performance": {"latency_budget_s": 6, "error_budget_s": 3, "latency_precision": 1e-6}}
BOUND_S = 150  # every run has an outcome within this after the fault (generous: the machine may be loaded)


def _wait_for(predicate, seconds: float, what: str, step: float = 0.2, show=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"not within {seconds} s: {what}" + (f" ({show()})" if show else ""))


def _statuses(ids: list[str]) -> dict[str, tuple[str, str | None]]:
    db.session.expire_all()
    db.session.commit()
    found = {run.id: run for run in Run.query.filter(Run.id.in_(ids)).all()}
    return {i: (found[i].status, (found[i].error or {}).get("code")) for i in ids}


def _all_finished(ids: list[str]):
    try:
        states = _statuses(ids)
    except Exception:  # the database is still coming back
        db.session.rollback()
        return None
    return states if all(status in runs.FINISHED for status, _ in states.values()) else None


class Redis:
    """A private redis-server without persistence, on its own port."""

    def __init__(self, folder: Path) -> None:
        require(shutil.which("redis-server"), "redis-server is not installed")
        self.port, self.folder = free_port(), folder
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> Redis:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait_for(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                                         text=True).stdout.strip() == "PONG", 30, "redis answers")
        return self

    def shutdown_nosave(self) -> None:
        subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@contextmanager
def celery_stack(tmp_path: Path, forest, diabetes_regressor) -> Iterator[tuple]:
    """An app sending runs through a private Redis to a real Celery worker (2 pool processes), short bounds."""
    redis = Redis(tmp_path).start()
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    bounds = {"MODELWATCH_RECOVERY_INTERVAL_S": "1", "MODELWATCH_REDISPATCH_S": "4",
              "MODELWATCH_RUN_MAX_ATTEMPTS": "2", "MODELWATCH_ARTIFACT_DIR": str(tmp_path / "artifacts")}
    app = create_app(make_config(url, EXECUTOR="celery", BROKER_URL=redis.url,
                                 ARTIFACT_DIR=str(tmp_path / "artifacts")))
    with app.app_context():
        db.create_all()
        worker = CeleryWorker(redis.url, url, tmp_path / "worker.log", **bounds)
        try:
            worker.wait_ready(get_executor().celery, timeout=BOUND_S)
            quick = artifacts.store_upload(dumps(diabetes_regressor), "diabetes.pkl")
            slow = artifacts.store_upload(dumps(forest), "forest.pkl")
            yield app, redis, worker, quick, slow
        finally:
            worker.stop()
            redis.stop()
            db.session.remove()


@pytest.fixture
def celery_setup(tmp_path, forest, diabetes_regressor):
    with celery_stack(tmp_path, forest, diabetes_regressor) as stack:
        yield stack


def test_redis_restarted_without_its_queue_strands_no_run(celery_setup):
    from tests.support import QUICK_DIABETES_CONFIG

    app, redis, worker, quick, slow = celery_setup
    ids = [runs.submit_run(slow, config=SLOW, name="running").id]
    _wait_for(lambda: _statuses(ids)[ids[0]][0] == "running", 90, "the first run starts")
    # two pool processes: one more runs, the rest wait in Redis
    ids += [runs.submit_run(quick, config=QUICK_DIABETES_CONFIG, name=f"queued {i}").id for i in range(4)]
    redis.shutdown_nosave()  # the queued messages are gone
    redis.start()
    states = _wait_for(lambda: _all_finished(ids), BOUND_S, "every run has an outcome", show=lambda: _statuses(ids))
    assert all(status == "succeeded" for status, _ in states.values()), states


def test_a_celery_pool_process_killed_mid_run_is_retried(celery_setup):
    app, redis, worker, quick, slow = celery_setup
    victim = runs.submit_run(slow, config=SLOW, name="victim")
    worker_of = _wait_for(lambda: (_statuses([victim.id])[victim.id][0] == "running"
                                   and db.session.get(Run, victim.id).worker), 90, "the victim runs")
    os.kill(int(worker_of.rpartition(":")[2]), signal.SIGKILL)
    states = _wait_for(lambda: _all_finished([victim.id]), BOUND_S, "the victim has an outcome")
    run = db.session.get(Run, victim.id)
    assert states[victim.id] == ("succeeded", None) and run.attempts == 1 and run.worker != worker_of


def test_runs_submitted_while_workers_start_under_a_cpu_hog_all_have_outcomes(tmp_path, forest, diabetes_regressor):
    """Two busy loops take the machine's cores while the Celery worker starts (its pool processes build their
    app and warm sandbox worker) and runs arrive: every run still ends as it should."""
    from tests.support import QUICK_DIABETES_CONFIG

    with cpu_hog(processes=2, max_seconds=4 * BOUND_S), \
            celery_stack(tmp_path, forest, diabetes_regressor) as (app, redis, worker, quick, slow):
        ok = [runs.submit_run(quick, config=QUICK_DIABETES_CONFIG, name=f"quick {i}").id for i in range(3)]
        late = runs.submit_run(slow, config={**SLOW, "timeout_s": 1}, name="over its time limit").id
        cancelled = runs.submit_run(slow, config=SLOW, name="cancelled").id
        _wait_for(lambda: _statuses([cancelled])[cancelled][0] != "queued", 2 * BOUND_S, "the cancelled run starts")
        runs.cancel_run(cancelled)
        ids = [*ok, late, cancelled]
        states = _wait_for(lambda: _all_finished(ids), 2 * BOUND_S, "every run has an outcome",
                           show=lambda: _statuses(ids))
    assert [states[i] for i in ok] == [("succeeded", None)] * 3, states
    assert states[late] == ("failed", "run_timeout") and states[cancelled] == ("failed", "cancelled"), states


class Postgres:
    """A private PostgreSQL cluster that the test may stop and start."""

    def __init__(self) -> None:
        require((PG_BIN / "initdb").exists(), "PostgreSQL 15 is not installed (/usr/lib/postgresql/15/bin)")
        # outside pytest's private tmp: as root, the cluster belongs to the postgres user, who must reach it
        folder = self.folder = Path(tempfile.mkdtemp(prefix="modelwatch-faults-pg-"))
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.run_as:
            shutil.chown(folder, "postgres")
        subprocess.run([*self.run_as, str(PG_BIN / "initdb"), "-D", str(folder / "pg"), "-U", "postgres",
                        "-A", "trust"], check=True, capture_output=True)

    def pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "pg"), *args], check=True,
                       capture_output=True, timeout=120)

    def start(self) -> None:
        self.pg_ctl("-w", "-l", str(self.folder / "pg.log"), "-o",
                    f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off", "start")

    def stop(self) -> None:
        self.pg_ctl("-m", "fast", "-w", "stop")

    def remove(self) -> None:
        subprocess.run([*self.run_as, str(PG_BIN / "pg_ctl"), "-D", str(self.folder / "pg"), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(self.folder, ignore_errors=True)


def test_postgres_stopped_mid_run(tmp_path, forest):
    pg = Postgres()
    pg.start()
    app = create_app(make_config(pg.url, EXECUTOR="threads", EXECUTOR_WORKERS=2, DB_RETRY_S=2,
                                 RECOVERY_INTERVAL_S=1, ARTIFACT_DIR=str(tmp_path / "artifacts")))
    try:
        with app.app_context():
            db.create_all()
            start_background(app)  # as gunicorn's post_worker_init does: runners and janitor
            # which run ends first must not hang on the machine's speed: the spanning run times batches of 50,000
            # rows for 8 s of wall-clock time (2000 calls, the timer's cap, would take ~17 s; a precision never
            # reached), the quick one single rows only (~1 s): seconds apart, whatever the load
            model = artifacts.store_upload(dumps(forest), "forest.pkl")
            timed = {**SLOW["performance"], "latency_budget_s": 16}
            spanning = runs.submit_run(model, config={**SLOW, "batch_sizes": [1, 50_000], "performance": timed}).id
            ending = runs.submit_run(model, config={**SLOW, "n_samples": 500, "batch_sizes": [1],
                                                    "performance": {**timed, "latency_budget_s": 3}}).id
            _wait_for(lambda: {s for s, _ in _statuses([spanning, ending]).values()} == {"running"}, 90,
                      "both runs execute")
            db.session.remove()
            pg.stop()
            # the quick run (still running when the database goes) ends while the database is away and gives up
            # storing its outcome after DB_RETRY_S
            _wait_for(lambda: ending in recovery._undelivered, 2 * BOUND_S, "the quick run's outcome is pending", 0.1)
            pg.start()
            states = _wait_for(lambda: _all_finished([spanning, ending]), BOUND_S, "both runs have an outcome",
                               show=lambda: _statuses([spanning, ending]))
            assert states[ending] == ("failed", "database_unavailable"), states
            assert states[spanning] == ("succeeded", None), states
    finally:
        shutdown(app)  # runners and janitor stop: they would poll a cluster that is about to go
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        pg.remove()


def test_sigterm_to_gunicorn_requeues_the_run_and_a_restarted_server_runs_it_unasked(tmp_path, forest_bytes):
    require((BIN / "gunicorn").exists(), "gunicorn is not installed in the venv")
    env = {"WEB_CONCURRENCY": "1", "MODELWATCH_AUTH": "optional", "MODELWATCH_ARTIFACT_DIR": str(tmp_path / "a")}
    server = Server(tmp_path, f"sqlite:///{tmp_path / 'modelwatch.db'}", **env)
    server.flask("db", "upgrade")
    server.start()
    try:
        answer = requests.post(f"{server.url}/run_tests", files={"model": ("forest.pkl", forest_bytes)},
                               data={"config": json.dumps(SLOW)}, timeout=120)
        run_id = answer.json()["run"]["id"]

        def row():
            with sqlite3.connect(tmp_path / "modelwatch.db", timeout=10) as con:
                return con.execute("SELECT status, attempts, error FROM run WHERE id = ?", (run_id,)).fetchone()

        _wait_for(lambda: row()[0] == "running", 90, "the run executes")
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)
        assert row()[:2] == ("queued", 1), row()  # released, not lost
        with open(server.log, "ab") as log:  # started, and never sent a request: its runners start on their own
            server.process = subprocess.Popen([str(BIN / "gunicorn"), "wsgi:server"], cwd=ROOT, env=server.env,
                                              stdout=log, stderr=subprocess.STDOUT)
        _wait_for(lambda: row()[0] in runs.FINISHED, BOUND_S, "the restarted server executes the run")
        assert row()[0] == "succeeded", row()
    finally:
        server.stop()
