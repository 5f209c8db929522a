"""Does the latency harness add anything? Its p50 and rows/s next to a raw ``timeit`` of ``predict``, in one run.

Run: ``.venv/bin/python bench/harness.py [--budget 0.3] [--rounds 15]``.

For a random forest (100 trees) and a scaled logistic-regression pipeline, both fitted on breast cancer, at
batch sizes 1 and 1000: ``performance.time_until`` as a run uses it (warm-up, then calls until the p50 and p95 are
known to ``LATENCY_PRECISION`` or the budget ends, the precision checked between calls) against
``timeit.Timer.repeat`` with ``number=1`` (the same number of calls, so both give a per-call distribution).
Rounds alternate the two so that machine noise hits both alike; each figure is the median over rounds, and each
ratio is the median of the per-round ratios (paired, so a slow drift in machine load cancels): harness / timeit for
p50 (goal: within 1.05 either way) and timeit / harness for rows/s (rows/s from the mean call). BLAS and OpenMP
are held to one thread so both sides measure the same single-threaded work on a shared machine.
"""
from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelwatch.core.checks.performance import time_until  # noqa: E402

GOAL = 1.05


def models():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    return X, {"forest (100 trees)": forest, "logistic pipeline": logistic}


def batch(X, size: int):
    reps = -(-size // len(X))
    return pd.concat([X] * reps, ignore_index=True).iloc[:size]


def measure(model, X, budget: float, rounds: int) -> dict[str, float]:
    harness_p50, harness_rps, raw_p50, raw_rps, calls = [], [], [], [], []
    timer = timeit.Timer("predict(X)", globals={"predict": model.predict, "X": X})
    for round_ in range(rounds):
        def harness() -> np.ndarray:
            return time_until(model.predict, X, budget).seconds

        def raw(n_calls: int) -> np.ndarray:
            timer.timeit(3)  # the same warm-up as the harness
            return np.asarray(timer.repeat(repeat=n_calls, number=1))

        # alternate which side goes first, so a drift in machine load does not favour one
        if round_ % 2 == 0:
            seconds = harness()
            raws = raw(seconds.size)
        else:
            raws = raw(calls[-1])
            seconds = harness()
        for store, values in ((harness_p50, np.median(seconds)), (raw_p50, np.median(raws)),
                              (harness_rps, len(X) * seconds.size / seconds.sum()),
                              (raw_rps, len(X) * raws.size / raws.sum())):
            store.append(values)
        calls.append(seconds.size)
    ratios_p50 = np.asarray(harness_p50) / np.asarray(raw_p50)
    ratios_rps = np.asarray(raw_rps) / np.asarray(harness_rps)
    return {"harness_p50_ms": float(np.median(harness_p50)) * 1000, "timeit_p50_ms": float(np.median(raw_p50)) * 1000,
            "harness_rps": float(np.median(harness_rps)), "timeit_rps": float(np.median(raw_rps)),
            "p50_ratio": float(np.median(ratios_p50)), "rps_ratio": float(np.median(ratios_rps)),
            "calls": int(np.median(calls))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.3, help="seconds of timed calls per measurement")
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    X, fitted = models()
    print(f"{'model':<20} {'batch':>5} {'calls':>6} {'harness p50 ms':>15} {'timeit p50 ms':>14} {'ratio':>6}"
          f" {'harness rows/s':>15} {'timeit rows/s':>14} {'ratio':>6}")
    worst = 1.0
    with threadpool_limits(limits=1):
        for name, model in fitted.items():
            for size in (1, 1000):
                r = measure(model, batch(X, size), args.budget, args.rounds)
                p50_ratio, rps_ratio = r["p50_ratio"], r["rps_ratio"]
                worst = max(worst, p50_ratio, 1 / p50_ratio, rps_ratio, 1 / rps_ratio)
                print(f"{name:<20} {size:>5} {r['calls']:>6} {r['harness_p50_ms']:>15.4f} {r['timeit_p50_ms']:>14.4f}"
                      f" {p50_ratio:>6.3f} {r['harness_rps']:>15,.0f} {r['timeit_rps']:>14,.0f} {rps_ratio:>6.3f}")
    verdict = "within" if worst <= GOAL else "OUTSIDE"
    print(f"worst ratio either way: {worst:.3f} ({verdict} the goal of {GOAL})")


if __name__ == "__main__":
    main()
