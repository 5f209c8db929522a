"""Benchmark synthetic generation: 1M rows x 20 mixed features against raw numpy, and the copula fitted on 10k rows.

Run: ``.venv/bin/python bench/synthetic.py [n_rows]``. Prints time and peak traced memory (tracemalloc sees
numpy's buffers) for each, the ratios, and the goals of issue 4. Timings are interleaved best-of-N.
"""
from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere

from modelwatch.core.data.copula import nearest_correlation  # noqa: E402
from modelwatch.core.data.synthetic import generate  # noqa: E402


def _feature(name: str, ftype: str, kind: str, **extra: Any) -> dict[str, Any]:
    params = {k: extra.pop(k) for k in ("mean", "std", "low", "high", "sigma", "quantiles") if k in extra}
    return {"name": name, "type": ftype, "distribution": {"kind": kind, **params}, **extra}


def mixed_schema() -> dict[str, Any]:
    """Twenty features: 12 float (normal, clipped, uniform, lognormal, empirical), 3 int, 3 categorical, 2 bool."""
    squares = (np.linspace(0, 1, 101) ** 2).tolist()
    features = [_feature(f"normal_{i}", "float", "normal", mean=i, std=1.0 + i) for i in range(4)]
    features += [_feature(f"clipped_{i}", "float", "normal", mean=0.0, std=1.0, min=-1.0, max=1.0, nullable=True,
                          missing_rate=0.05) for i in range(2)]
    features += [_feature(f"uniform_{i}", "float", "uniform", low=0, high=10) for i in range(2)]
    features += [_feature(f"lognormal_{i}", "float", "lognormal", mean=1, sigma=0.5) for i in range(2)]
    features += [_feature(f"empirical_{i}", "float", "empirical", quantiles=squares) for i in range(2)]
    features += [_feature("int_0", "int", "uniform", low=0, high=100, min=0, max=100),
                 _feature("int_1", "int", "normal", mean=40, std=12, min=18, max=90),
                 _feature("int_2", "int", "lognormal", mean=3, sigma=0.7, nullable=True, missing_rate=0.1)]
    for k, name in ((5, "cat_0"), (12, "cat_1"), (3, "cat_2")):
        features.append(_feature(name, "categorical", "categorical", categories=[f"{name}_v{j}" for j in range(k)],
                                 weights=list(range(1, k + 1)), nullable=name == "cat_2",
                                 missing_rate=0.05 if name == "cat_2" else 0.0))
    features += [_feature(f"bool_{i}", "bool", "categorical", categories=[False, True], weights=[0.3, 0.7])
                 for i in range(2)]
    return {"schema_version": 1, "features": features, "target": None}


def raw_numpy(schema: dict[str, Any], n: int, seed: int) -> dict[str, np.ndarray]:
    """The same arrays drawn with plain numpy calls: no clipping, rounding, missing values or frame."""
    rng = np.random.default_rng(seed)
    out = {}
    for f in schema["features"]:
        d = f["distribution"]
        if d["kind"] == "normal":
            out[f["name"]] = rng.normal(d["mean"], d["std"], n)
        elif d["kind"] == "uniform":
            out[f["name"]] = rng.uniform(d["low"], d["high"], n)
        elif d["kind"] == "lognormal":
            out[f["name"]] = rng.lognormal(d["mean"], d["sigma"], n)
        elif d["kind"] == "empirical":
            q = np.asarray(d["quantiles"])
            out[f["name"]] = np.interp(rng.random(n), np.linspace(0, 1, len(q)), q)
        else:  # category codes by inverse CDF: faster than rng.choice(k, n, p=w), so the stricter reference
            w = np.asarray(f["weights"], dtype=float)
            out[f["name"]] = np.searchsorted(np.cumsum(w / w.sum()), rng.random(n), side="right")
    return out


def raw_numpy_copula(schema: dict[str, Any], n: int, seed: int) -> dict[str, np.ndarray]:
    """Plain numpy correlated normals: one (n x d) standard-normal block times the Cholesky factor."""
    d = len(schema["features"])
    lower = np.linalg.cholesky(random_correlation(d, seed))
    z = np.random.default_rng(seed).standard_normal((n, d)) @ lower.T
    return {f["name"]: z[:, j] for j, f in enumerate(schema["features"])}


def random_correlation(d: int, seed: int) -> np.ndarray:
    """A random, clearly non-diagonal correlation matrix."""
    a = np.random.default_rng(seed + 99).normal(size=(d, d // 2))
    return nearest_correlation(np.corrcoef(a))


def best_times(fns: list[Callable[[], Any]], repeat: int = 5) -> list[float]:
    """Best wall time of each function over ``repeat`` rounds, interleaved so that load on a shared
    machine hits every contender alike."""
    best = [float("inf")] * len(fns)
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            result = fn()
            best[i] = min(best[i], time.perf_counter() - start)
            del result
    return best


def peak_mb(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Peak traced memory (MB) of one run, and its result."""
    tracemalloc.start()
    result = fn()
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return peak, result


def frame_mb(frame: pd.DataFrame) -> float:
    return float(frame.memory_usage(deep=True).sum()) / 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    schema = mixed_schema()
    print(f"synthetic generation, {n:,} rows x {len(schema['features'])} mixed features (best of 5, interleaved)")
    t_np, t_ind = best_times([lambda: raw_numpy(schema, n, 0), lambda: generate(schema, n, seed=0)])
    m_np, _ = peak_mb(lambda: raw_numpy(schema, n, 0))
    m_ind, frame = peak_mb(lambda: generate(schema, n, seed=0))
    size = frame_mb(frame)
    print(f"  raw numpy arrays        {t_np:7.3f} s   peak {m_np:7.1f} MB")
    print(f"  independent generate()  {t_ind:7.3f} s   peak {m_ind:7.1f} MB   frame {size:.1f} MB")
    met = "met" if t_ind / t_np <= 1.5 and t_ind < 2 else "MISSED"
    print(f"  ratio time {t_ind / t_np:.2f}x (goal <= 1.5x and < 2 s: {met})"
          f"   peak/frame {m_ind / size:.2f}x (goal < 2x: {'met' if m_ind / size < 2 else 'MISSED'})")

    correlated = {**schema, "copula": {"features": [f["name"] for f in schema["features"]],
                                       "correlation": random_correlation(len(schema["features"]), 0).tolist()}}
    sample = generate(correlated, 10_000, seed=1, generator="copula")
    copula = lambda: generate(schema, n, seed=0, generator="copula", sample=sample)  # noqa: E731
    t_cnp, t_cop = best_times([lambda: raw_numpy_copula(schema, n, 0), copula], repeat=3)
    m_cnp, _ = peak_mb(lambda: raw_numpy_copula(schema, n, 0))
    m_cop, frame = peak_mb(copula)
    size = frame_mb(frame)
    print(f"  raw numpy correlated    {t_cnp:7.3f} s   peak {m_cnp:7.1f} MB")
    print(f"  copula generate()       {t_cop:7.3f} s   peak {m_cop:7.1f} MB   frame {size:.1f} MB"
          "   (fit on 10,000 rows + draw)")
    met = "met" if t_cop < 5 else "MISSED"
    print(f"  ratio time {t_cop / t_cnp:.2f}x vs raw correlated normals (goal < 5 s: {met})"
          f"   peak/frame {m_cop / size:.2f}x")


if __name__ == "__main__":
    main()
