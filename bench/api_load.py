"""What does the server add? 20 concurrent submissions through gunicorn next to the core pipeline called directly.

Run: ``.venv/bin/python bench/api_load.py [--runs 20] [--trees 100]``.

A random forest (100 trees, breast cancer) is submitted ``--runs`` times at once to ``gunicorn wsgi:server``
(2 workers x 2 run threads, a temporary SQLite file, migrated first) with a CI-sized config; each client polls
``GET /api/runs/<id>`` every 0.25 s like the CLI does. Submit-to-result time is from the start of the POST to the
poll that sees the run finished. The reference, in the same run: ``core.sandbox.runner.run_task("suite", ...)`` with the
same schema, config and model, ``--runs`` at once on a pool of 4 threads (the server's 2 x 2). The two bursts
alternate for ``--rounds`` rounds (the machine is shared: its load drifts). Printed: p50 / p95 of each, runs per
second, the ratios, and the server overhead (the median of the paired per-round wall-time ratios; goal < 20%).
Before the timed bursts the model is uploaded once, every gunicorn worker has executed runs and one untimed burst
has gone through each side (a long-running server's steady state: each sandbox zygote is warm), so both sides do
the same work.
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelwatch.core.config import resolve_config  # noqa: E402
from modelwatch.core.sandbox.runner import Limits, run_task  # noqa: E402
from modelwatch.core.schema.from_model import schema_from_model  # noqa: E402

BIN = Path(sys.executable).parent
PARALLEL = 4  # gunicorn: 2 workers x MODELWATCH_WORKERS=2
POLL_S = 0.25
GOAL = 0.20
CONFIG = {"n_samples": 500, "batch_sizes": [1, 100],
          "drift": {"features": ["f0", "f1", "f2"], "kinds": ["mean_shift"], "severities": [1.0], "resamples": 5},
          "explain": {"max_samples": 20, "background": 20},
          "performance": {"latency_budget_s": 0.5, "error_budget_s": 0.3},
          "robustness": {"budget_s": 2}, "quality": {"n_boot": 0}}


def model_bytes(trees: int) -> bytes:
    X, y = load_breast_cancer(return_X_y=True)
    return pickle.dumps(RandomForestClassifier(n_estimators=trees, random_state=0).fit(X, y))


def start_server(tmp: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "PORT": str(port), "HOST": "127.0.0.1",
           "WEB_CONCURRENCY": "2", "MODELWATCH_WORKERS": "2", "MODELWATCH_AUTH": "optional"}
    env.pop("MODELWATCH_ENV", None)
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen([str(BIN / "gunicorn"), "wsgi:server"], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{url}/api/health", timeout=2).status_code == 200:
                return server, url
        except requests.RequestException:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("gunicorn did not start; see " + str(tmp / "gunicorn.log"))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


EXECUTED: list[float] = []  # the server's own duration_s of each run (started -> finished, no queueing)


def through_server(url: str, data: bytes, config: str) -> float:
    """Submit, poll until finished; seconds from the POST to the poll that sees the result."""
    start = time.perf_counter()
    answer = requests.post(f"{url}/run_tests", files={"model": ("forest.pkl", data)}, data={"config": config},
                           timeout=300)
    answer.raise_for_status()
    run = answer.json()["run"]
    while run["status"] not in ("succeeded", "failed"):
        time.sleep(POLL_S)
        run = requests.get(f"{url}/api/runs/{run['id']}", timeout=30).json()["run"]
    if run["status"] != "succeeded":
        raise SystemExit(f"run {run['id']} failed: {run['error']}")
    EXECUTED.append(run["duration_s"])
    return time.perf_counter() - start


DIRECT_EXECUTED: list[float] = []


def warm_every_worker(url: str, data: bytes, config: str, db_path: Path, workers: int = 2) -> None:
    """Upload the model once, then run until every gunicorn worker has executed a run: its sandbox worker is
    warm, as on a server that has been up for a while (a cold worker pays the numeric imports once)."""
    through_server(url, data, config)
    for _ in range(10):
        with sqlite3.connect(db_path) as con:
            warmed = con.execute("SELECT COUNT(DISTINCT worker) FROM run WHERE status = 'succeeded'").fetchone()[0]
        if warmed >= workers:
            return
        burst(lambda: through_server(url, data, config), PARALLEL, PARALLEL)
    print("warning: not every gunicorn worker could be warmed up")


def direct(data: bytes, payload: dict) -> None:
    start = time.perf_counter()
    run_task("suite", data, "pickle", payload, {}, limits=Limits(timeout_s=300))
    DIRECT_EXECUTED.append(time.perf_counter() - start)


def burst(func, n: int, workers: int) -> tuple[np.ndarray, float]:
    """Hand ``n`` calls at once to ``workers`` threads; each one's time from the hand-over to its result."""
    start = time.perf_counter()
    done: list[float] = []
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(func) for _ in range(n)]
        for future in futures:
            future.add_done_callback(lambda _f: done.append(time.perf_counter() - start))
        for future in futures:
            future.result()
    return np.array(done), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="server and direct bursts, alternated")
    args = parser.parse_args()

    data = model_bytes(args.trees)
    info = run_task("inspect", data, "pickle", limits=Limits(timeout_s=60))
    payload = {"schema": schema_from_model(info), "config": resolve_config(CONFIG), "target": None}
    config = json.dumps(CONFIG)
    served, reference, walls, health = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(Path(tmp))
        try:
            warm_every_worker(url, data, config, Path(tmp) / "bench.db")
            # a sandbox zygote finishes warming up (JIT kernels) in the background for a while after its first
            # run: one untimed burst on each side, so that both are measured in their steady state
            burst(lambda: through_server(url, data, config), args.runs, args.runs)
            burst(lambda: direct(data, payload), args.runs, PARALLEL)
            stop = threading.Event()

            def ping() -> None:
                while not stop.is_set():
                    t = time.perf_counter()
                    requests.get(f"{url}/api/health", timeout=30)
                    health.append(time.perf_counter() - t)
                    time.sleep(0.2)

            EXECUTED.clear()
            DIRECT_EXECUTED.clear()
            for round_ in range(args.rounds):
                # alternate which side goes first, so that a change in the shared machine's load hits both alike
                wall = {}
                for side in (("server", "direct") if round_ % 2 == 0 else ("direct", "server")):
                    if side == "server":
                        pinger = threading.Thread(target=ping, daemon=True)
                        stop.clear()
                        pinger.start()
                        # one client thread per submission: all POSTs at once; the server queues beyond its 4 slots
                        times, wall[side] = burst(lambda: through_server(url, data, config), args.runs, args.runs)
                        stop.set()
                        pinger.join()
                        served.extend(times)
                    else:
                        times, wall[side] = burst(lambda: direct(data, payload), args.runs, PARALLEL)
                        reference.extend(times)
                walls.append((wall["server"], wall["direct"]))
        finally:
            server.terminate()
            server.wait(timeout=60)
    report(args, np.array(served), np.array(reference), walls, health)


def report(args: argparse.Namespace, served: np.ndarray, reference: np.ndarray, walls: list[tuple[float, float]],
           health: list[float]) -> None:
    def row(name: str, times: np.ndarray, wall: float) -> str:
        return (f"{name:<36} p50 {np.percentile(times, 50):7.2f} s   p95 {np.percentile(times, 95):7.2f} s   "
                f"{args.runs / wall:6.3f} runs/s")

    server_wall = float(np.median([w[0] for w in walls]))
    direct_wall = float(np.median([w[1] for w in walls]))
    # both sides get all the runs at once and run 4 at a time: each time is from the hand-over to the result,
    # queueing included, so p50 / p95 compare like with like; runs/s from the median wall time of a burst
    print(f"{args.runs} concurrent submissions x {args.rounds} rounds, {args.trees}-tree forest, "
          f"{PARALLEL} runs at a time\n")
    print(row("through gunicorn (submit->result)", served, server_wall))
    print(row("core pipeline directly", reference, direct_wall))
    print(f"{'  server-side execution (duration_s)':<36} p50 {np.percentile(EXECUTED, 50):7.2f} s   "
          f"p95 {np.percentile(EXECUTED, 95):7.2f} s")
    print(f"{'  direct execution (per task)':<36} p50 {np.percentile(DIRECT_EXECUTED, 50):7.2f} s   "
          f"p95 {np.percentile(DIRECT_EXECUTED, 95):7.2f} s")
    per_round = [s / d for s, d in walls]
    overhead = float(np.median(per_round)) - 1
    print(f"\nratio server / direct: p50 {np.percentile(served, 50) / np.percentile(reference, 50):.3f}, "
          f"p95 {np.percentile(served, 95) / np.percentile(reference, 95):.3f}, "
          f"runs/s {direct_wall / server_wall:.3f}; wall per round {', '.join(f'{r:.3f}' for r in per_round)}")
    print(f"server overhead: {overhead:+.1%} of the work (median of the paired per-round wall ratios; goal < "
          f"{GOAL:.0%}: {'met' if overhead < GOAL else 'NOT met'})")
    print(f"/api/health during the server bursts: {len(health)} calls, max {max(health) * 1000:.0f} ms, "
          f"p50 {np.percentile(health, 50) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
