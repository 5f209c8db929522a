"""Upload memory: the peak RSS a gunicorn worker gains while it takes a 70 MB model and a 50 MB CSV.

Run: ``.venv/bin/python bench/upload_memory.py [--model-mb 70] [--csv-mb 50] [--database URL]`` (Linux: reads
``/proc``; resetting the peak needs the worker to be ours, which it is).

One gunicorn worker on a temporary SQLite file (or ``--database``, migrated first), runs sent to a Celery broker
that no worker reads (``--broker``, default a Redis on 127.0.0.1:56314) so that only the request itself is
measured, not a run executing in the same process. Before each upload the worker's peak RSS is reset
(``/proc/<pid>/clear_refs`` 5) and its RSS read; after the answer its peak (``VmHWM``) is read. A small model and
CSV are uploaded first, so that imports and first-use caches are not counted. Printed: the peak increase of each
upload, the file's size and their ratio (goal <= 1.5).
"""
from __future__ import annotations

import argparse
import io
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import requests
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOAL = 1.5
MB = 1024 * 1024


def knn_model(megabytes: float) -> bytes:
    """A brute-force nearest-neighbours classifier whose stored training set makes the file ``megabytes`` big."""
    rows = int(megabytes * MB / (30 * 8))
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, 30))
    return pickle.dumps(KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(X, rng.integers(0, 2, rows)))


def cancer_model_and_csv(megabytes: float) -> tuple[bytes, bytes]:
    """A logistic regression on breast cancer, and a CSV of its rows resampled with 1 % noise to ``megabytes``."""
    data = load_breast_cancer(as_frame=True)
    model = pickle.dumps(LogisticRegression(max_iter=5000).fit(data.data, data.target))
    rng = np.random.default_rng(0)

    def rows(n: int) -> pd.DataFrame:
        picked = rng.integers(0, len(data.frame), n)
        frame = data.data.iloc[picked].reset_index(drop=True) * (1 + 0.01 * rng.standard_normal((n, 30)))
        frame["label"] = data.target.iloc[picked].to_numpy()
        return frame

    one_row = len(rows(1000).to_csv(index=False).encode()) / 1000
    frame = rows(int(megabytes * MB / one_row))
    return model, frame.to_csv(index=False).encode()


def _status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def measure(url: str, pid: int, files: dict, data: dict) -> tuple[int, float]:
    """The worker's peak RSS increase (bytes) while it answers this upload, and the answer's time."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _status(pid, "VmRSS")
    started = time.monotonic()
    answer = requests.post(f"{url}/run_tests", files=files, data=data, timeout=600)
    elapsed = time.monotonic() - started
    assert answer.status_code in (200, 202), answer.text[:500]
    return _status(pid, "VmHWM") - before, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-mb", type=float, default=70)
    parser.add_argument("--csv-mb", type=float, default=50)
    parser.add_argument("--broker", default="redis://127.0.0.1:56314/0")
    parser.add_argument("--port", type=int, default=8764)
    parser.add_argument("--database", default=None, help="a SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    big_model = knn_model(args.model_mb)
    small_model, big_csv = cancer_model_and_csv(args.csv_mb)
    _, small_csv = cancer_model_and_csv(0.2)
    with tempfile.TemporaryDirectory(prefix="modelwatch-upload-bench-") as tmp:
        env = {**os.environ, "DATABASE_URL": args.database or f"sqlite:///{tmp}/bench.db", "PORT": str(args.port),
               "HOST": "127.0.0.1", "WEB_CONCURRENCY": "1", "MODELWATCH_EXECUTOR": "celery",
               "MODELWATCH_BROKER_URL": args.broker, "MODELWATCH_AUTH": "none", "MODELWATCH_LOG_FORMAT": "text",
               "MODELWATCH_ARTIFACT_DIR": f"{tmp}/artifacts", "MODELWATCH_SANDBOX_MEMORY_MB": "6144",
               "GUNICORN_CONTROL_SOCKET": f"{tmp}/g.ctl"}
        subprocess.run([str(BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=300)
        with open(f"{tmp}/gunicorn.log", "wb") as log:
            server = subprocess.Popen([str(BIN / "gunicorn"), "wsgi:server"], cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{args.port}"
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                try:
                    if requests.get(f"{url}/api/health/live", timeout=2).ok:
                        break
                except requests.RequestException:
                    time.sleep(0.5)
            worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
            # first use: imports, the sandbox's warm worker, pandas' parser
            measure(url, worker, {"model": ("warm.pkl", small_model), "sample": ("warm.csv", small_csv)},
                    {"target": "label"})
            model_peak, model_s = measure(url, worker, {"model": ("knn.pkl", io.BytesIO(big_model))}, {})
            csv_peak, csv_s = measure(url, worker, {"model": ("cancer.pkl", small_model),
                                                    "sample": ("sample.csv", io.BytesIO(big_csv))},
                                      {"target": "label"})
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    print(f"load average {os.getloadavg()[0]:.1f}")
    for what, size, peak, seconds in (("model", len(big_model), model_peak, model_s),
                                      ("CSV", len(big_csv), csv_peak, csv_s)):
        ratio = peak / size
        print(f"{what:5s} {size / MB:6.1f} MB: worker peak RSS +{peak / MB:6.1f} MB = {ratio:.2f}x the file "
              f"({'ok' if ratio <= GOAL else 'over'} the {GOAL}x goal), answered in {seconds:.1f} s")


if __name__ == "__main__":
    main()
