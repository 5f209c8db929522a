"""The executor contract, run against the thread pool and against Celery (a real Redis and `celery worker`).

queued -> running (stage, progress) -> succeeded; cancellation; a run handed out twice executes once; a
worker killed mid-run leaves a failed run with its reason while the other runs complete.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from modelwatch.app import create_app
from modelwatch.execution import recovery
from modelwatch.execution.cancellation import executing_here
from modelwatch.execution.executors import get_executor
from modelwatch.extensions import db
from modelwatch.models import Run, utcnow
from modelwatch.services import artifacts, runs
from tests.conftest import make_config
from tests.support import QUICK_DIABETES_CONFIG, dumps, per_worker, require

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = per_worker(os.environ.get("MODELWATCH_TEST_REDIS_URL"))
SLOW = {"n_samples": 300, "batch_sizes": [1, 100]}


def _wait(predicate, timeout: float, message: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        db.session.expire_all()
        db.session.commit()
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s: {message}")


def _status(run_id: str) -> str | None:
    run = db.session.get(Run, run_id)
    return run.status if run else None


def _started(run_id: str) -> bool:
    """Running, and (on the thread pool) watched by its executing thread, so a cancel has someone to stop."""
    return _status(run_id) == "running" and (get_executor().name == "celery" or run_id in executing_here())


class CeleryWorker:
    """A real ``celery -A modelwatch.celery_worker worker`` with 2 processes, on the test's database and Redis."""

    def __init__(self, broker: str, database: str, log: Path, **extra_env: str) -> None:
        import redis

        redis.Redis.from_url(broker).flushdb()  # our throwaway Redis: no task of an earlier test is left
        env = {**os.environ, "MODELWATCH_BROKER_URL": broker, "DATABASE_URL": database,
               "MODELWATCH_EXECUTOR": "celery", "MODELWATCH_RUN_MAX_ATTEMPTS": "1", **extra_env}
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "modelwatch.celery_worker", "worker", "--concurrency", "2",
             "--pool", "prefork", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "-n", f"test{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_ready(self, celery_app, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, Path(self.log.name).read_text()[-3000:]
            if celery_app.control.ping(timeout=1.0):
                return
        raise AssertionError("the celery worker did not answer: " + Path(self.log.name).read_text()[-3000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module", params=["threads", "celery"])
def executor_app(request, tmp_path_factory):
    """An app whose runs execute on the thread pool, or on a Celery worker process (module-wide).

    One attempt per run: these tests see a lost worker's run fail; tests/services/test_faults.py sees it retried.
    """
    folder = tmp_path_factory.mktemp(f"executor-{request.param}")
    url = f"sqlite:///{folder / 'runs.db'}"
    worker = None
    if request.param == "celery":
        require(REDIS_URL, "Redis is not available (set MODELWATCH_TEST_REDIS_URL; .ci/run starts one)")
        config = make_config(url, EXECUTOR="celery", BROKER_URL=REDIS_URL, RUN_MAX_ATTEMPTS=1)
    else:
        config = make_config(url, EXECUTOR="threads", EXECUTOR_WORKERS=2, RUN_MAX_ATTEMPTS=1)
    app = create_app(config)
    with app.app_context():
        db.create_all()
        if request.param == "celery":
            worker = CeleryWorker(REDIS_URL, url, folder / "worker.log")
            worker.wait_ready(get_executor().celery)
        app.extensions["test.worker"] = worker
        yield app
        db.session.remove()
    if worker:
        worker.stop()


@pytest.fixture(scope="module")
def models(executor_app, diabetes_regressor, forest, sandbox):
    """A quick regressor (a run in ~3 s) and a 30-feature forest whose SLOW run takes tens of seconds."""
    return (artifacts.store_upload(dumps(diabetes_regressor), "diabetes.pkl", name="diabetes"),
            artifacts.store_upload(dumps(forest), "forest.pkl", name="forest"))


def test_runs_move_from_queued_through_running_to_succeeded(executor_app, models):
    quick, _ = models
    ids = [runs.submit_run(quick, config=QUICK_DIABETES_CONFIG, name=f"quick {i}").id for i in range(3)]
    seen: dict[str, set] = {run_id: set() for run_id in ids}

    def all_done():
        for run_id in ids:
            run = db.session.get(Run, run_id)
            seen[run_id].add((run.status, run.stage if run.status == "running" else None))
        return all(db.session.get(Run, r).status in runs.FINISHED for r in ids)

    _wait(all_done, 120, "three quick runs finish", step=0.05)
    for run_id in ids:
        run = db.session.get(Run, run_id)
        assert run.status == "succeeded", run.error
        assert run.progress == 1.0 and run.stage == "done" and run.result["performance"]["latency_ms"]["1"]
        assert run.created_at <= run.started_at <= run.finished_at and run.heartbeat_at >= run.started_at
        host, _, pid = run.worker.rpartition(":")
        assert host and pid.isdigit()
        if get_executor().name == "celery":
            assert int(pid) != os.getpid()  # executed in a worker process, not here
    stages = {stage for run_id in ids for status, stage in seen[run_id] if status == "running"}
    assert stages - {None}, "no run was ever seen running"


def test_a_run_handed_out_twice_executes_once(executor_app, models):
    quick, _ = models
    run = runs.submit_run(quick, config=QUICK_DIABETES_CONFIG)
    get_executor().submit(run.id)  # e.g. requeued after a restart while the first hand-out was still queued
    _wait(lambda: _status(run.id) in runs.FINISHED, 120, "the run finishes")
    first = db.session.get(Run, run.id)
    started, finished = first.started_at, first.finished_at
    get_executor().submit(run.id)
    time.sleep(1.0)
    db.session.expire_all()
    again = db.session.get(Run, run.id)
    assert again.status == "succeeded" and (again.started_at, again.finished_at) == (started, finished)


def test_cancelling_a_running_run_fails_it_and_frees_the_worker(executor_app, models):
    quick, forest = models
    slow = runs.submit_run(forest, config=SLOW, name="slow")
    _wait(lambda: _started(slow.id), 60, "the slow run starts")
    cancelled = runs.cancel_run(slow.id)
    assert cancelled.status == "failed" and cancelled.error["code"] == "cancelled" and cancelled.stage == "cancelled"
    assert runs.cancel_run(slow.id).finished_at == cancelled.finished_at  # cancelling twice changes nothing
    # the executing process lets go of the run (its sandbox is stopped) and later runs still execute
    if get_executor().name == "threads":
        _wait(lambda: slow.id not in executing_here(), 60, "the executing thread lets go")
    after = runs.submit_run(quick, config=QUICK_DIABETES_CONFIG, name="after cancel")
    _wait(lambda: _status(after.id) in runs.FINISHED, 120, "a run after the cancelled one finishes")
    assert _status(after.id) == "succeeded"
    final = db.session.get(Run, slow.id)
    assert final.status == "failed" and final.error["code"] == "cancelled" and final.result is None


def test_a_queued_run_cancelled_never_executes(executor_app, models):
    quick, _ = models
    blockers = [runs.submit_run(quick, config=QUICK_DIABETES_CONFIG) for _ in range(2)]  # both slots busy
    waiting = runs.submit_run(quick, config=QUICK_DIABETES_CONFIG)
    runs.cancel_run(waiting.id)
    _wait(lambda: all(_status(b.id) in runs.FINISHED for b in blockers), 120, "the blockers finish")
    time.sleep(1.0)
    db.session.expire_all()
    run = db.session.get(Run, waiting.id)
    assert run.status == "failed" and run.error["code"] == "cancelled" and run.started_at is None


def test_deleting_a_running_run_stops_it(executor_app, models):
    _, forest = models
    slow = runs.submit_run(forest, config=SLOW, name="slow, deleted")
    _wait(lambda: _started(slow.id), 60, "the slow run starts")
    runs.delete_run(slow.id)
    assert db.session.get(Run, slow.id).deleted_at is not None and _status(slow.id) == "failed"
    if get_executor().name == "threads":
        _wait(lambda: slow.id not in executing_here(), 60, "the executing thread lets go")


def _kill_worker_of(run_id: str) -> str:
    """SIGKILL the process executing the run: a Celery pool process, or a separate web-like process."""
    worker = db.session.get(Run, run_id).worker
    pid = int(worker.rpartition(":")[2])
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    return worker


def test_a_worker_killed_mid_run_leaves_a_failed_run_and_the_others_complete(executor_app, models, tmp_path):
    quick, forest = models
    if get_executor().name == "celery":
        victim = runs.submit_run(forest, config=SLOW, name="victim")
    else:
        # the runners live in the web processes: crash a second process executing a run on the same database;
        # the row is created already claimed, so that no runner of this process takes it from the queue
        victim = Run(artifact=forest, name="victim", schema=runs.build_schema(forest, None),
                     config=runs.resolve_config(SLOW), status="running", stage="starting", started_at=utcnow())
        db.session.add(victim)
        db.session.commit()
        code = ("import sys; from modelwatch.app import create_app; from tests.conftest import make_config; "
                "from modelwatch.extensions import db; from modelwatch.models import Run; "
                "from modelwatch.execution.queue import worker_id; from modelwatch.services import runs; "
                "app = create_app(make_config(sys.argv[1], EXECUTOR='inline'));"
                "ctx = app.app_context(); ctx.push(); run = db.session.get(Run, sys.argv[2]); "
                "run.worker = worker_id(); db.session.commit(); runs.execute_claimed(sys.argv[2])")
        crashed = subprocess.Popen([sys.executable, "-c", code, executor_app.config["SQLALCHEMY_DATABASE_URI"],
                                    victim.id], cwd=ROOT)
    _wait(lambda: _status(victim.id) == "running" and db.session.get(Run, victim.id).stage != "starting", 90,
          "the victim runs")
    others = [runs.submit_run(quick, config=QUICK_DIABETES_CONFIG, name=f"other {i}") for i in range(2)]
    worker = _kill_worker_of(victim.id)  # not reaped yet: a zombie counts as gone too
    # the janitor of any live process (here: this one) fails it well within a minute
    started = time.monotonic()
    _wait(lambda: recovery.recover_orphans() or _status(victim.id) == "failed", 60, "the orphan is failed", step=1.0)
    assert time.monotonic() - started < 60
    run = db.session.get(Run, victim.id)
    assert run.status == "failed" and run.error["code"] == "worker_lost" and run.finished_at
    assert worker in run.error["message"] and run.error["details"]["worker"] == worker
    _wait(lambda: all(_status(o.id) in runs.FINISHED for o in others), 180, "the other runs finish")
    assert [_status(o.id) for o in others] == ["succeeded", "succeeded"]
    if get_executor().name == "threads":
        crashed.wait(timeout=10)


def test_a_run_without_heartbeat_is_failed_and_a_live_one_is_left(executor_app, models):
    quick, _ = models
    now = utcnow()
    stale = Run(artifact=quick, name="stale", status="running", stage="drift", worker="elsewhere:1",
                started_at=now - timedelta(minutes=5), heartbeat_at=now - timedelta(seconds=45))
    live = Run(artifact=quick, name="live", status="running", stage="drift", worker="elsewhere:2",
               started_at=now - timedelta(minutes=5), heartbeat_at=now - timedelta(seconds=2))
    # a live process of this host that went quiet is given until its sandbox time limit (+60 s) has passed
    quiet_here = Run(artifact=quick, name="quiet", status="running", stage="drift", config={"timeout_s": 300},
                     worker=f"{socket.gethostname()}:{os.getppid()}", started_at=now - timedelta(minutes=5),
                     heartbeat_at=now - timedelta(seconds=45))
    db.session.add_all([stale, live, quiet_here])
    db.session.commit()
    recovered = recovery.recover_orphans()
    assert stale.id in recovered and live.id not in recovered and quiet_here.id not in recovered
    quiet_here.heartbeat_at = now - timedelta(seconds=400)
    db.session.commit()
    assert quiet_here.id in recovery.recover_orphans()
    db.session.expire_all()
    assert db.session.get(Run, stale.id).error["code"] == "worker_lost"
    assert "no heartbeat for 45 s" in db.session.get(Run, stale.id).error["message"]
    assert db.session.get(Run, live.id).status == "running"
    db.session.delete(db.session.get(Run, live.id))
    db.session.commit()


def test_a_run_of_a_dead_local_process_is_failed_at_once(executor_app, models):
    quick, _ = models
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a pid that existed and has ended
    run = Run(artifact=quick, name="crashed", status="running", stage="robustness", started_at=utcnow(),
              heartbeat_at=utcnow(), worker=f"{socket.gethostname()}:{gone.pid}")
    db.session.add(run)
    db.session.commit()
    assert run.id in recovery.recover_orphans()
    db.session.expire_all()
    assert "ended while the run was executing" in db.session.get(Run, run.id).error["message"]
