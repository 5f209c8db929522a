"""Per-column drift detection: modelwatch against Evidently's DataDriftPreset on the same frames, in one run.

Run with ``make bench-drift`` (a separate venv with evidently==0.7.23 and pandas<3), or directly:
``.venv-bench/bin/python bench/drift.py [--evidently-max-rows 100000] [--sizes 10000,100000,1000000]``.

For each size: 20 columns (16 numeric of several shapes, 4 categorical with a categorical dtype), a reference and a
current frame where some columns drift (a few of them close to the thresholds). Printed per size:
- our time for the whole check, reference profiling included (fresh profile every time), best of 3;
- the same with the categoricals as plain strings (hashed once per call);
- our exact path (every column sorted), whose flags are the exact tests' flags;
- Evidently's DataDriftPreset time on the same frames and the ratio;
- whether the flags agree column by column, with Evidently and with the exact tests;
- the peak memory our check allocates (tracemalloc), per row, to show it grows linearly.
"""
from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelwatch.core.drift.detect import detect_frame  # noqa: E402
from modelwatch.core.drift.profile import profile  # noqa: E402

N_NUMERIC, N_CATEGORICAL = 16, 4
CATEGORIES = [["a", "b", "c"], ["red", "green", "blue", "amber", "violet"], ["yes", "no"],
              [f"city_{i:02d}" for i in range(30)]]


def make_frames(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A reference and a current frame; columns 0-7 and two categoricals drift, some of them near threshold."""
    rng = np.random.default_rng(seed)
    shifts = [0.0, 0.02, 0.05, 0.09, 0.12, 0.2, 0.5, 1.0] + [0.0] * 8

    def numeric(i: int, size: int, shift: float) -> np.ndarray:
        shape = i % 4
        if shape == 0:
            return rng.normal(shift, 1.0, size)
        if shape == 1:
            return rng.lognormal(shift, 0.6, size)
        if shape == 2:
            return rng.uniform(shift, 1 + shift, size)
        return np.round(rng.normal(50 + 10 * shift, 10, size))  # integer-valued, many ties

    def frame(drift: bool) -> pd.DataFrame:
        data: dict[str, object] = {}
        for i in range(N_NUMERIC):
            data[f"num_{i:02d}"] = numeric(i, n, shifts[i] if drift else 0.0)
        for j, cats in enumerate(CATEGORIES):
            p = np.linspace(1, 2, len(cats))
            if drift and j in (1, 3):
                p = p[::-1] ** (1.5 if j == 1 else 1.1)
            values = np.asarray(cats, dtype=object)[rng.choice(len(cats), n, p=p / p.sum())]
            data[f"cat_{j}"] = pd.Categorical(values, categories=cats)
        return pd.DataFrame(data)

    return frame(False), frame(True)


def ours(ref: pd.DataFrame, cur: pd.DataFrame, exact: bool | None = None) -> dict:
    return detect_frame(profile(ref), cur, exact=exact)


def best_of(fn, *args, repeats: int = 3, **kwargs) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best, out


def evidently_flags(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[float, dict[str, bool], dict[str, float]]:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(numerical_columns=[c for c in ref.columns if c.startswith("num_")],
                                categorical_columns=[c for c in ref.columns if c.startswith("cat_")])
    start = time.perf_counter()
    snapshot = Report([DataDriftPreset()]).run(Dataset.from_pandas(cur, data_definition=definition),
                                              Dataset.from_pandas(ref, data_definition=definition))
    elapsed = time.perf_counter() - start
    flags, scores = {}, {}
    for metric in snapshot.dict()["metrics"]:
        cfg = metric["config"]
        if cfg.get("type") != "evidently:metric_v2:ValueDrift":
            continue
        value, threshold, method = float(metric["value"]), float(cfg["threshold"]), cfg["method"]
        if "p_value" in method:
            flags[cfg["column"]] = value <= threshold if method.startswith("K-S") else value < threshold
        else:
            flags[cfg["column"]] = value >= threshold
        scores[cfg["column"]] = value
    return elapsed, flags, scores


def flags_of(result: dict) -> dict[str, bool]:
    return {c["feature"]: bool(c["drift_detected"]) for c in result["columns"]}


def score_of(col: dict) -> float:
    return col["p_value"] if col["p_value"] is not None else col["statistic"]


def peak_mb(fn, *args) -> float:
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--evidently-max-rows", type=int, default=100_000,
                        help="skip Evidently above this many rows (it took 111 s at 1M on this machine)")
    args = parser.parse_args()
    try:
        import evidently
        have_evidently = evidently.__version__
    except ImportError:
        have_evidently = None
    print(f"pandas {pd.__version__}, numpy {np.__version__}, evidently {have_evidently or 'not installed'}")
    print(f"{N_NUMERIC} numeric + {N_CATEGORICAL} categorical columns; times are best of 3 (Evidently: 1 run)\n")
    for n in [int(s) for s in args.sizes.split(",")]:
        ref, cur = make_frames(n)
        ref_str = ref.astype({c: object for c in ref.columns if c.startswith("cat_")})
        cur_str = cur.astype({c: object for c in cur.columns if c.startswith("cat_")})
        t_fast, fast = best_of(ours, ref, cur)
        t_str, fast_str = best_of(ours, ref_str, cur_str)
        t_exact, exact = best_of(ours, ref, cur, exact=True, repeats=1 if n >= 1_000_000 else 3)
        methods = pd.Series([c["method"] for c in fast["columns"]]).value_counts().to_dict()
        same_exact = flags_of(fast) == flags_of(exact) == flags_of(fast_str)
        print(f"== {n:,} rows x 20 columns: {sum(flags_of(exact).values())} columns drift (exact tests)")
        print(f"   ours, whole check incl. reference profiling: {t_fast * 1000:9.1f} ms   methods: {methods}")
        print(f"   ours, categoricals as strings:               {t_str * 1000:9.1f} ms")
        print(f"   ours, exact path (every column sorted):      {t_exact * 1000:9.1f} ms")
        print(f"   flags identical to the exact tests: {same_exact}")
        mb = peak_mb(ours, ref, cur)
        print(f"   peak memory of our check: {mb:8.1f} MB ({mb * 2**20 / n:.1f} bytes per row)")
        if have_evidently and n <= args.evidently_max_rows:
            ev_ref = ref_str  # Evidently gets plain string categoricals (not timed: conversion done above)
            t_ev, ev_flags, ev_scores = evidently_flags(ev_ref, cur_str)
            ours_flags = flags_of(fast)
            disagree = [c for c in ours_flags if ours_flags[c] != ev_flags.get(c)]
            exact_scores = {c["feature"]: score_of(c) for c in exact["columns"]}
            worst = max(abs(exact_scores[c] - ev_scores[c]) for c in ev_scores)
            print(f"   Evidently DataDriftPreset:                   {t_ev * 1000:9.1f} ms   "
                  f"ratio {t_ev / t_fast:6.1f}x (strings: {t_ev / t_str:6.1f}x)")
            print(f"   flags agree with Evidently column by column: {not disagree}"
                  + (f" (differ: {disagree})" if disagree else "")
                  + f"; max |score difference| vs our exact tests: {worst:.2e}")
        elif have_evidently:
            print(f"   Evidently skipped above {args.evidently_max_rows:,} rows (too slow: about 111 s at 1M here);"
                  " flags checked against our exact tests instead")
        print()


if __name__ == "__main__":
    main()
