"""Monitoring: profile and compare a production batch with the champion's reference, the monitoring page's data
for a model with many batches, and the bytes stored per batch.

Run directly: ``.venv/bin/python bench/monitoring.py [--rows 1000000] [--batches 10000]``. Printed:
- the time to profile and compare a ``rows`` x 20 batch (16 numeric, 4 categorical) with a 10,000-row reference,
  the reference profile already built (as the server caches it per champion), best of 3; goal < 1 s;
- the time to read the page's series and build its four figures for a model with ``batches`` batches (SQLite),
  best of 3; goal < 300 ms;
- the bytes stored per batch (summary + profile JSON), for 1,000 and for ``rows`` rows: independent of rows.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelwatch.app import create_app  # noqa: E402
from modelwatch.core.monitoring.batches import build_reference, compare_batch, series_columns  # noqa: E402
from modelwatch.extensions import db  # noqa: E402
from modelwatch.figures import monitoring as figures  # noqa: E402
from modelwatch.models import ModelArtifact  # noqa: E402
from modelwatch.models_monitoring import ModelVersion, MonitorBatch, RegisteredModel  # noqa: E402
from modelwatch.services import monitoring  # noqa: E402
from modelwatch.settings import TestSettings  # noqa: E402

N_NUMERIC, N_CATEGORICAL = 16, 4
CATEGORIES = ["a", "b", "c", "d", "e"]


def frame(n: int, shift: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f"num_{i}": rng.normal(shift if i < 4 else 0.0, 1.0, n) for i in range(N_NUMERIC)}
    for i in range(N_CATEGORICAL):
        data[f"cat_{i}"] = pd.Categorical(rng.choice(CATEGORIES, n), categories=CATEGORIES)
    data["prediction"] = rng.random(n)
    return pd.DataFrame(data)


def best_of(func, repeat: int = 3) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = func()
        best = min(best, time.perf_counter() - start)
    return best, out


def bench_compare(rows: int) -> dict:
    reference = build_reference(frame(10_000, 0.0, 0))
    compare_batch(reference, frame(1_000, 0.0, 1))  # warm the reference profile (sorted/binned once, then kept)
    batch = frame(rows, 0.3, 2)
    seconds, out = best_of(lambda: compare_batch(reference, batch))
    small = compare_batch(reference, frame(1_000, 0.3, 3))
    size = {n: len(json.dumps(o["summary"])) + len(json.dumps(o["profile"])) for n, o in ((1_000, small), (rows, out))}
    return {"compare_s": seconds, "bytes_per_batch": size, "n_drifted": out["summary"]["drift"]["n_drifted"]}


def bench_page(n_batches: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        config = type("Bench", (TestSettings,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db"})
        app = create_app(config)
        with app.app_context():
            db.create_all()
            artifact = ModelArtifact(sha256="0" * 64, name="bench", filename="m.pkl", format="pickle", size=1,
                                     data=b"-")
            model = RegisteredModel(name="bench")
            version = ModelVersion(model=model, number=1, artifact=artifact)
            db.session.add_all([artifact, model, version])
            db.session.flush()
            reference = build_reference(frame(2_000, 0.0, 0))
            template = compare_batch(reference, frame(500, 0.2, 1))
            start = datetime(2025, 1, 1)
            rows = [{"model_id": model.id, "version_id": version.id, "batch_time": start + timedelta(hours=i),
                     "received_at": start + timedelta(hours=i), "n_rows": 500,
                     "share_drifted": template["summary"]["drift"]["share_drifted"],
                     "dataset_drift": False, "summary": template["summary"], "profile": template["profile"],
                     **series_columns(template["summary"])}
                    for i in range(n_batches)]
            db.session.execute(db.insert(MonitorBatch), rows)
            db.session.commit()

            def page():
                data = monitoring.series("bench")
                return [figures.drift_share_figure(data), figures.drift_heatmap_figure(data),
                        figures.prediction_figure(data), figures.quality_figure(data)]
            seconds, _ = best_of(page)
            data_s, _ = best_of(lambda: monitoring.series("bench"))
    return {"page_s": seconds, "series_s": data_s}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batches", type=int, default=10_000)
    args = parser.parse_args()
    compared = bench_compare(args.rows)
    print(f"profile + compare {args.rows:,} x 20 batch vs 10,000-row reference: {compared['compare_s'] * 1000:.0f} ms "
          f"(goal < 1000 ms; {compared['n_drifted']} drifted columns found)")
    for rows, size in compared["bytes_per_batch"].items():
        print(f"stored per batch of {rows:,} rows: {size:,} bytes (summary + profile JSON)")
    page = bench_page(args.batches)
    print(f"monitoring page data for {args.batches:,} batches: series {page['series_s'] * 1000:.0f} ms, series + 4 "
          f"figures {page['page_s'] * 1000:.0f} ms (goal < 300 ms)")


if __name__ == "__main__":
    main()
