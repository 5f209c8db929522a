"""Time to verdict: a default run through the HTTP API, POST to ``succeeded``, against the previous code path.

Run: ``.venv/bin/python bench/time_to_verdict.py [--base 9cdfe3f] [--rounds 1] [--base-venv DIR]``.

Two servers run side by side: this checkout, and the ``--base`` commit checked out as a detached git worktree
under /tmp (removed afterwards unless ``--keep-base``), both with this virtualenv, or the base with its own
(``--base-venv``: a change of pinned libraries, e.g. a copy of ``.venv`` with the old pins installed through its
``bin/python -m pip``; both sides start their programs as ``bin/python -m``, so a copied venv's scripts, whose
first lines name the original, are never used). Each is ``gunicorn wsgi:server``
with one worker and one run thread on a temporary SQLite file, migrated first. Models, each with its labelled
sample and no config (a default run): a 100-tree random forest and a 50-tree XGBoost classifier on the 569 rows
of breast cancer, and the demo churn pipeline (``core.data.demo_models``) on its 300-row sample. Before timing, each
model goes once through each server with a small config, once that server's warm sandbox worker listens (a run
before it starts cold and pays every import): the artifact is stored and inspected (timed runs submit a model
already inspected) and the warm worker has run the suite once. Then, for every round and
model, the two servers take turns (the first one alternates: the shared machine's load drifts), one run at a
time, each once both servers' processes are quiet (``settle``). Timed from the start of the POST to the answer
that says ``succeeded``. The run is polled every 50 ms until
its first ``headlines`` ("first figures"; the base commit has none: its first figures are the result), then
followed as the CLI follows it, ``GET /api/runs/<id>?wait=25``, answered as the run finishes (a server without
``?wait`` answers at once and is polled every 50 ms): twenty polls a second, each a few milliseconds of the web
worker's CPU, would otherwise share the two cores with the latency being measured.
Printed: per model the median seconds of each side, the ratio base / this, the first figures, the drift section's
own seconds on each side (from the Result), the rest of each side's run without its latency timing (latency's own
seconds move by seconds with the shared machine's noise in the model's call times: the rest is what the code sets),
this side's quickest round (the nearest to the idle machine the goals are stated for), the seconds a restarted
gunicorn worker takes until its warm sandbox worker listens again (once per round per side, after the runs),
the goals on an idle machine (forest <= 5 s, XGBoost <= 3 s, first
figures <= 1.5 s), the load average before and after, and the machine's speed before and after (the forest's
predict on 100 rows in the bench's own process: on this shared machine it moves by half between idle periods).
"""
from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from xgboost import XGBClassifier

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelwatch.core.data.demo_models import churn_pipeline  # noqa: E402

VENV = Path(sys.prefix)
POLL_S = 0.05
QUIET_S, QUIET_TICKS = 0.5, 2  # a server tree is quiet at <= 2 clock ticks (20 ms) of CPU in half a second
GOALS = {"forest (100 trees)": 5.0, "xgboost (50 trees)": 3.0}
FIRST_FIGURES_GOAL = 1.5
WARM_CONFIG = {"n_samples": 200, "batch_sizes": [1], "performance": {"latency_budget_s": 0.3},
               "drift": {"kinds": ["mean_shift"], "severities": [1.0], "resamples": 2},
               "explain": {"max_samples": 10, "background": 10}, "quality": {"n_boot": 10}}


def models() -> dict[str, tuple[bytes, bytes, str]]:
    """Name -> (pickled model, sample CSV, target column)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    sample = X.assign(diagnosis=y).to_csv(index=False).encode()
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    boosted = XGBClassifier(n_estimators=50, random_state=0).fit(X, y)
    churn = churn_pipeline()
    return {"forest (100 trees)": (pickle.dumps(forest), sample, "diagnosis"),
            "xgboost (50 trees)": (pickle.dumps(boosted), sample, "diagnosis"),
            "churn pipeline": (pickle.dumps(churn["model"]), churn["sample"].to_csv(index=False).encode(),
                               churn["target"])}


SPEED_ROWS, SPEED_CALLS = 100, 200


def machine_speed(forest: Any) -> float:
    """The median milliseconds of the forest's ``predict_proba`` on SPEED_ROWS rows, here in the bench's process.

    Printed before and after the runs: the same call's time moves by half between idle periods of this shared
    machine, which the runs' absolute seconds inherit (the ratios against the base, measured together, do not).
    """
    X = load_breast_cancer(as_frame=True).data.iloc[:SPEED_ROWS]
    times = []
    for _ in range(SPEED_CALLS):
        started = time.perf_counter()
        forest.predict_proba(X)
        times.append(time.perf_counter() - started)
    return float(np.median(times)) * 1000


def base_checkout(commit: str) -> Path:
    """A detached worktree of ``commit`` under /tmp (made once, reused by later runs with ``--keep-base``)."""
    path = Path(tempfile.gettempdir()) / f"modelwatch-ttv-base-{commit[:12]}"
    if not (path / "wsgi.py").exists():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--force", str(path), commit],
                       check=True, capture_output=True)
    return path


def start_server(code: Path, python: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "PORT": str(port), "HOST": "127.0.0.1",
           "WEB_CONCURRENCY": "1", "MODELWATCH_WORKERS": "1", "MODELWATCH_AUTH": "optional"}
    env.pop("MODELWATCH_ENV", None)
    subprocess.run([str(python), "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=code, env=env, check=True,
                   capture_output=True)
    log = open(tmp / "gunicorn.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen([str(python), "-m", "gunicorn", "wsgi:server"], cwd=code, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    return server, f"http://127.0.0.1:{port}"


def wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    for _ in range(600):
        if server.poll() is not None:
            break
        try:
            if requests.get(f"{url}/api/health", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the server did not start; see {log}")


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def _cpu_ticks(pid: int) -> int:
    """CPU ticks (user + system) of ``pid`` and every process below it; 0 for one that has gone."""
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        own = int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0
    return own + sum(_cpu_ticks(child) for child in _children(pid))


def settle(servers: list[subprocess.Popen], ceiling_s: float = 15.0) -> None:
    """Wait until both servers' process trees are quiet: at most QUIET_TICKS of CPU in QUIET_S (or the ceiling).

    The tail of a run (its Result stored, the sandbox's child and sibling reaped) would otherwise fall in the
    next run's first second, which is latency timing: an A/A run (both sides the same commit) showed the side
    timed second in a pair slower by a second on the churn pipeline.
    """
    deadline = time.monotonic() + ceiling_s
    before = sum(_cpu_ticks(server.pid) for server in servers)
    while time.monotonic() < deadline:
        time.sleep(QUIET_S)
        now = sum(_cpu_ticks(server.pid) for server in servers)
        if now - before <= QUIET_TICKS:
            return
        before = now


def wait_warm_worker(server: subprocess.Popen, timeout_s: float = 600, gone: int | None = None) -> None:
    """Wait until the gunicorn worker's sandbox zygote listens (before that, runs start cold: every import paid);
    ``gone``: a worker whose zygote does not count (it was stopped)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for worker in _children(server.pid):
            if worker == gone:
                continue
            for child in _children(worker):
                args = (Path("/proc") / str(child) / "cmdline").read_bytes().split(b"\0")
                if b"--zygote" in args and Path(args[args.index(b"--zygote") + 1].decode()).exists():
                    return
        time.sleep(0.5)
    raise SystemExit("the sandbox's warm worker did not start")


def restart_seconds(server: subprocess.Popen) -> float:
    """Seconds from SIGTERM to the server's gunicorn worker until its replacement's warm sandbox worker listens:
    what a deploy, a crash or a recycled worker costs before runs are warm again (the numba cache is populated)."""
    [worker] = _children(server.pid)  # WEB_CONCURRENCY=1
    started = time.perf_counter()
    os.kill(worker, signal.SIGTERM)
    while Path(f"/proc/{worker}").exists() and time.perf_counter() - started < 120:
        time.sleep(0.05)
    wait_warm_worker(server, gone=worker)
    return time.perf_counter() - started


def timed_run(url: str, model: tuple[bytes, bytes, str], config: dict[str, Any] | None = None) -> dict[str, Any]:
    """POST the model with its sample, poll until finished: seconds to the first headlines and to the verdict."""
    blob, sample, target = model
    fields = {"target": target, **({"config": json.dumps(config)} if config else {})}
    start = time.perf_counter()
    answer = requests.post(f"{url}/run_tests", files={"model": ("model.pkl", blob), "sample": ("sample.csv", sample)},
                           data=fields, timeout=600)
    if answer.status_code >= 400:
        raise SystemExit(f"{url}: {answer.status_code} {answer.text[:500]}")
    run, first = answer.json()["run"], None
    while run["status"] not in ("succeeded", "failed"):
        asked = time.perf_counter()
        wait = {"wait": 25} if first is not None else {}  # once the first figures are seen, the verdict is awaited
        run = requests.get(f"{url}/api/runs/{run['id']}", params=wait, timeout=60).json()["run"]
        if first is None and run.get("headlines"):
            first = time.perf_counter() - start
        if run["status"] not in ("succeeded", "failed"):  # a server without ``?wait`` answers at once: poll it
            time.sleep(max(POLL_S - (time.perf_counter() - asked), 0))
    total = time.perf_counter() - start
    if run["status"] != "succeeded":
        raise SystemExit(f"{url}: run {run['id']} failed: {run['error']}")
    performance = run["result"]["performance"]
    latency = (performance.get("latency_budget") or {}).get("seconds")
    return {"total": total, "first": first if first is not None else total,
            "drift_s": (run["result"].get("drift") or {}).get("seconds"), "latency_s": latency,
            "rest_s": total - (latency or 0.0),
            "stopped_by": [s.get("stopped_by") for s in performance["latency_ms"].values()]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="9cdfe3f", help="the commit of the previous code path")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--keep-base", action="store_true", help="leave the base worktree for the next run")
    parser.add_argument("--base-venv", type=Path, default=VENV, help="the base side's virtualenv (default: this one)")
    args = parser.parse_args()
    fitted = models()
    base = base_checkout(args.base)
    sides = {"base": (base, args.base_venv / "bin" / "python"), "this": (ROOT, VENV / "bin" / "python")}
    servers, results = {}, {(side, name): [] for side in sides for name in fitted}
    restarts: dict[str, list[float]] = {side: [] for side in sides}
    forest = pickle.loads(fitted["forest (100 trees)"][0])  # noqa: S301 - the bench's own model, fitted above
    load_before, speed_before = os.getloadavg(), machine_speed(forest)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for side, (code, python) in sides.items():
                (Path(tmp) / side).mkdir()
                servers[side] = start_server(code, python, Path(tmp) / side)
            for side, (server, url) in servers.items():
                wait_healthy(url, server, Path(tmp) / side / "gunicorn.log")
                wait_warm_worker(server)
                for model in fitted.values():
                    timed_run(url, model, WARM_CONFIG)
            for round_ in range(args.rounds):
                for index, (name, model) in enumerate(fitted.items()):
                    order = ("base", "this") if (round_ + index) % 2 == 0 else ("this", "base")
                    for side in order:
                        settle([server for server, _ in servers.values()])
                        results[side, name].append(timed_run(servers[side][1], model))
            for round_ in range(args.rounds):  # after the runs: a fresh web worker would time the next run too
                for side in ("base", "this") if round_ % 2 == 0 else ("this", "base"):
                    settle([server for server, _ in servers.values()])
                    restarts[side].append(restart_seconds(servers[side][0]))
        finally:
            for server, _ in servers.values():
                server.terminate()
                server.wait(timeout=60)
            if not args.keep_base:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base)],
                               capture_output=True)
                shutil.rmtree(base, ignore_errors=True)
    speeds = (speed_before, machine_speed(forest))
    report(fitted, results, restarts, load_before, os.getloadavg(), speeds, args)


def report(fitted: dict, results: dict, restarts: dict, load_before: tuple, load_after: tuple,
           speeds: tuple[float, float], args: argparse.Namespace) -> None:
    def median(side: str, name: str, key: str) -> float:
        return float(np.median([r[key] for r in results[side, name]]))

    def fastest(name: str) -> float:  # this side's quickest round: the nearest to an idle machine the run saw
        return float(min(r["total"] for r in results["this", name]))

    venv = f" with {args.base_venv}" if args.base_venv != VENV else ""
    print(f"time to verdict, {args.rounds} round(s), base {args.base}{venv}; load average before "
          f"{load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, after "
          f"{load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f} ({os.cpu_count()} CPUs)")
    print(f"machine speed: the forest's predict_proba on {SPEED_ROWS} rows takes {speeds[0]:.2f} ms before, "
          f"{speeds[1]:.2f} ms after (median of {SPEED_CALLS} calls in this process; compare with other runs)")
    print(f"{'model':<20} {'base s':>8} {'this s':>8} {'base/this':>9} {'first figures s':>16} "
          f"{'drift base/this s':>18} {'latency s':>10} {'rest base/this s':>17} {'this best s':>11} "
          f"{'goal (idle)':>12}  latency stopped by")
    for name in fitted:
        base, this = median("base", name, "total"), median("this", name, "total")
        goal = GOALS.get(name)
        stopped = results["this", name][-1]["stopped_by"]
        drift = f"{median('base', name, 'drift_s'):.2f}/{median('this', name, 'drift_s'):.2f}"
        rest = f"{median('base', name, 'rest_s'):.2f}/{median('this', name, 'rest_s'):.2f}"
        print(f"{name:<20} {base:>8.2f} {this:>8.2f} {base / this:>9.2f} {median('this', name, 'first'):>16.2f} "
              f"{drift:>18} {median('this', name, 'latency_s'):>10.2f} {rest:>17} {fastest(name):>11.2f} "
              f"{(f'<= {goal:g} s' if goal else '-'):>12}  {', '.join(stopped)}")
    print("rest: the run's seconds without latency's (each side's own), the part the machine's noise in the model's "
          "call times does not set; this best: this side's quickest round, the nearest to the idle machine the goals "
          "are stated for")
    base, this = float(np.median(restarts["base"])), float(np.median(restarts["this"]))
    print(f"worker restart (SIGTERM to the gunicorn worker until its replacement's warm sandbox worker listens): "
          f"base {base:.2f} s, this {this:.2f} s, base/this {base / this:.2f} (median of {len(restarts['this'])})")
    print(f"first figures goal (idle): <= {FIRST_FIGURES_GOAL} s after the POST; the base commit shows none "
          "before its result")


if __name__ == "__main__":
    main()
