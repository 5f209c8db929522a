"""Lists at scale: ``GET /api/runs?limit=50`` and the History grid's rows with 10,000 runs in the database.

Run: ``.venv/bin/python bench/scale.py [--runs 10000] [--requests 40] [--database URL]`` (default: a temporary
SQLite file; pass a PostgreSQL URL to measure there).

The database is seeded with ``--runs`` finished runs, each with a realistic result (~8 KB of JSON), one in ten
with a 20 KB sample CSV, spread over 20 model artifacts of 1 MB each kept in the database (the configuration where
the old list read the most). Measured through the Flask test client, in the same run and alternating:

- today's list: ``GET /api/runs?limit=50`` (light columns, no result, CSV or model bytes);
- the same page read the previous way (whole rows, every deferred column undeferred and each artifact's bytes
  loaded, then the same presenter), as the reference;
- a page deep in the list by ``cursor`` and by ``offset``;
- the History grid's data (``services.history.history_rows``, 500 rows).

Printed: p50 / p95 in ms of each and the ratio of the p95s; goal: the list's p95 < 100 ms.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import undefer  # noqa: E402

from modelwatch.app import create_app  # noqa: E402
from modelwatch.extensions import db  # noqa: E402
from modelwatch.models import ModelArtifact, Run, new_run_id, utcnow  # noqa: E402
from modelwatch.services.history import history_rows  # noqa: E402
from modelwatch.services.presenters import run_dict  # noqa: E402
from modelwatch.services.runs import encode_cursor  # noqa: E402
from modelwatch.settings import TestSettings  # noqa: E402

GOAL_MS = 100.0
ARTIFACTS = 20


def seed(n_runs: int) -> None:
    info = {"type": "sklearn.ensemble._forest.RandomForestClassifier", "task": "classification", "n_features": 30,
            "feature_names": [f"f{i}" for i in range(30)], "classes": [0, 1]}
    db.session.execute(insert(ModelArtifact), [
        {"sha256": f"{i:064x}", "name": f"model{i}", "filename": f"model{i}.pkl", "format": "pickle",
         "size": 1 << 20, "data": os.urandom(1 << 20), "info": info, "created_at": utcnow()}
        for i in range(ARTIFACTS)])
    result = {"performance": {"latency_ms": {"1": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0, "mean": 1.2,
                                                   "n_calls": 100}},
                              "samples": [[i * 0.1 for i in range(40)] for _ in range(20)]},
              "explainability": {"samples": [{"row": {f"f{i}": i for i in range(30)},
                                              "contributions": {f"f{i}": 0.01 * i for i in range(30)}}
                                             for _ in range(5)]}}
    sample = b"a,b,c\n" + b"1.0,2.0,3.0\n" * 1700
    now = utcnow()
    batch = []
    for i in range(n_runs):
        batch.append({"id": new_run_id(), "artifact_id": 1 + i % ARTIFACTS, "name": f"model{i % ARTIFACTS}",
                      "status": "succeeded" if i % 7 else "failed", "stage": "done", "progress": 1.0,
                      "source": "api", "config": {"n_samples": 1000}, "result": result, "tags": [],
                      "sample_csv": sample if i % 10 == 0 else None, "attempts": 0,
                      "created_at": now - timedelta(seconds=n_runs - i), "started_at": now, "finished_at": now})
        if len(batch) == 1000:
            db.session.execute(insert(Run), batch)
            batch = []
    if batch:
        db.session.execute(insert(Run), batch)
    db.session.commit()


def previous_list(limit: int = 50) -> list[dict]:
    """The list as it read before: whole rows, the artifact (with its bytes) loaded for each."""
    found = (Run.query.options(undefer(Run.result), undefer(Run.sample_csv), undefer(Run.current_csv))
             .order_by(Run.created_at.desc(), Run.id).limit(limit).all())
    Run.query.count()
    rows = []
    for run in found:
        _ = run.artifact.data
        rows.append(run_dict(run, with_result=False))
    return rows


def timed(action, n: int) -> list[float]:
    times = []
    for _ in range(n):
        db.session.expire_all()
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
        db.session.rollback()
    return times


def p95(values: list[float]) -> float:
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--database", default=None, help="a SQLAlchemy URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="modelwatch-scale-")
    url = args.database or f"sqlite:///{folder}/scale.db"
    config = type("BenchConfig", (TestSettings,), {"SQLALCHEMY_DATABASE_URI": url, "ARTIFACT_STORE": "database"})
    app = create_app(config)
    client = app.test_client()
    with app.app_context():
        db.drop_all()
        db.create_all()
        started = time.perf_counter()
        seed(args.runs)
        print(f"seeded {args.runs} runs in {time.perf_counter() - started:.1f} s ({url.split('://')[0]})")
        middle = Run.query.order_by(Run.created_at.desc(), Run.id.desc()).offset(args.runs // 2 - 1).first()
        cursor = encode_cursor(middle)  # the `next` a client paging 50 at a time would hold there
        samples: dict[str, list[float]] = {k: [] for k in ("list", "previous", "cursor", "offset", "history")}
        for _ in range(args.requests // 10):  # alternate, the machine's load drifts
            samples["list"] += timed(lambda: client.get("/api/runs?limit=50").get_json(), 10)
            samples["previous"] += timed(previous_list, 10)
            samples["cursor"] += timed(lambda: client.get(f"/api/runs?limit=50&cursor={cursor}").get_json(), 10)
            samples["offset"] += timed(
                lambda: client.get(f"/api/runs?limit=50&offset={args.runs // 2}").get_json(), 10)
            samples["history"] += timed(history_rows, 2)
        for name, values in samples.items():
            print(f"{name:<9} p50 {statistics.median(values):8.1f} ms   p95 {p95(values):8.1f} ms   (n={len(values)})")
        ratio = p95(samples["previous"]) / p95(samples["list"])
        verdict = "meets" if p95(samples["list"]) < GOAL_MS else "misses"
        print(f"list p95 {p95(samples['list']):.1f} ms {verdict} the {GOAL_MS:.0f} ms goal; "
              f"the previous path's p95 is {ratio:.1f}x it")
        db.drop_all()


if __name__ == "__main__":
    main()
