"""How many runs a minute, and how long from submit to done: the thread pool against Celery workers, 1 and 2 each.

Run: ``.venv/bin/python bench/throughput.py [--runs 8] [--timeout 600]``.

N quick runs (a diabetes regressor, 50 generated rows) are submitted at once to each executor: the in-process
thread pool with 1 and 2 threads, and Celery with 1 and 2 worker processes (a real ``celery worker`` on a private
``redis-server`` this script starts on loopback). Each setup uses its own SQLite database. It prints runs per
minute (from the first submit to the last finish, after untimed warm-up runs), the p50 / p95 time from submit to
done, and how many runs were
lost or stuck (not finished within the timeout: the goal is none), then the 2-worker / 1-worker ratio of each
executor, measured in the same run. Every sandboxed run is a subprocess, so on a 2-core machine 2 workers can
at best double the rate.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelwatch.app import create_app  # noqa: E402
from modelwatch.extensions import db  # noqa: E402
from modelwatch.models import Run  # noqa: E402
from modelwatch.services import artifacts, runs  # noqa: E402
from modelwatch.settings import TestSettings  # noqa: E402
from tests.support import dumps  # noqa: E402

FAST = {"n_samples": 50, "batch_sizes": [1], "explain": {"max_samples": 5, "background": 5},
        "drift": {"features": ["age"], "kinds": ["mean_shift"], "severities": [1.0]}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    import redis

    for _ in range(100):
        try:
            redis.Redis.from_url(url).ping()
            return proc, url
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def start_worker(broker: str, database: str, concurrency: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "MODELWATCH_BROKER_URL": broker, "DATABASE_URL": database}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "modelwatch.celery_worker", "worker", "--concurrency", str(concurrency),
         "--pool", "prefork", "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
         "-n", f"bench{concurrency}@%h"],
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)


def warm_up(artifact, workers: int, settle_s: float = 20.0) -> None:
    """Untimed runs first, and time for every worker's sandbox to preload the numeric stack (a fresh worker
    process runs its first tasks cold while its warm sandbox is still starting)."""
    ids = [runs.submit_run(artifact, config=FAST, name="warm-up").id for _ in range(2 * workers)]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        db.session.expire_all()
        if all(db.session.get(Run, run_id).status in runs.FINISHED for run_id in ids):
            break
        db.session.commit()
        time.sleep(0.2)
    time.sleep(settle_s)


def measure(kind: str, workers: int, n_runs: int, model: bytes, folder: Path, broker: str | None,
            timeout: float) -> dict[str, float]:
    url = f"sqlite:///{folder / f'{kind}{workers}.db'}"
    overrides = {"SQLALCHEMY_DATABASE_URI": url, "EXECUTOR": kind, "EXECUTOR_WORKERS": workers}
    if kind == "celery":
        overrides["BROKER_URL"] = broker
    app = create_app(type("BenchConfig", (TestSettings,), overrides))
    worker = None
    with app.app_context():
        db.create_all()
        artifact = artifacts.store_upload(model, "diabetes.pkl")
        if kind == "celery":
            worker = start_worker(broker, url, workers, folder / f"worker{workers}.log")
            celery_app = app.extensions["modelwatch.executor"].celery
            while not celery_app.control.ping(timeout=1.0):
                assert worker.poll() is None, (folder / f"worker{workers}.log").read_text()[-2000:]
        try:
            warm_up(artifact, workers)
            started = time.monotonic()
            submitted = {}
            for i in range(n_runs):
                run = runs.submit_run(artifact, config=FAST, name=f"bench {i}")
                submitted[run.id] = time.monotonic()
            done: dict[str, float] = {}
            while len(done) < n_runs and time.monotonic() - started < timeout:
                db.session.expire_all()
                for run_id, status in db.session.query(Run.id, Run.status).filter(Run.id.in_(list(submitted))):
                    if status in runs.FINISHED and run_id not in done:
                        done[run_id] = time.monotonic()
                db.session.commit()
                time.sleep(0.05)
            statuses = [db.session.get(Run, run_id).status for run_id in submitted]
        finally:
            if worker is not None:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=60)
            db.session.remove()
    latencies = np.array([done[r] - submitted[r] for r in done]) if done else np.array([np.nan])
    elapsed = max(done.values()) - started if done else float("nan")
    return {"runs_per_min": 60 * len(done) / elapsed, "p50_s": float(np.percentile(latencies, 50)),
            "p95_s": float(np.percentile(latencies, 95)), "succeeded": statuses.count("succeeded"),
            "failed": statuses.count("failed"), "lost_or_stuck": n_runs - len(done)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = dumps(LinearRegression().fit(X, y))
    folder = Path(tempfile.mkdtemp(prefix="modelwatch-bench-"))
    redis_proc, broker = start_redis() if shutil.which("redis-server") else (None, None)
    results = {}
    try:
        setups = [("threads", 1), ("threads", 2)] + ([("celery", 1), ("celery", 2)] if broker else [])
        for kind, workers in setups:
            results[(kind, workers)] = measure(kind, workers, args.runs, model, folder, broker, args.timeout)
            r = results[(kind, workers)]
            print(f"{kind:<8} x{workers}: {r['runs_per_min']:6.1f} runs/min   submit->done p50 {r['p50_s']:5.1f} s "
                  f"p95 {r['p95_s']:5.1f} s   succeeded {r['succeeded']}/{args.runs}  failed {r['failed']}  "
                  f"lost or stuck {r['lost_or_stuck']}", flush=True)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
            redis_proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{args.runs} runs submitted at once per setup, on {os.cpu_count()} cores")
    for kind in ("threads", "celery"):
        if (kind, 1) in results and (kind, 2) in results:
            ratio = results[(kind, 2)]["runs_per_min"] / results[(kind, 1)]["runs_per_min"]
            print(f"{kind}: 2 workers / 1 worker = {ratio:.2f}x runs per minute (ideal 2.00x)")
    if ("celery", 2) in results:
        ratio = results[("celery", 2)]["runs_per_min"] / results[("threads", 2)]["runs_per_min"]
        print(f"celery x2 / threads x2 = {ratio:.2f}x runs per minute")
    lost = sum(r["lost_or_stuck"] for r in results.values())
    print(f"runs lost or stuck: {lost} (goal: 0)")


if __name__ == "__main__":
    main()
