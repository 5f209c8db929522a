"""ONNX latency: the same forest in scikit-learn and in onnxruntime, inside the sandbox and called directly.

Run: ``.venv/bin/python bench/onnx.py [--budget 0.5] [--rounds 3]`` (about two minutes on a busy 2-core machine;
the warm worker's start is not counted).

A 100-tree forest fitted on breast cancer is saved as a pickle and exported with skl2onnx (ZipMap included, as
users' files have it). Each file goes through the real suite in the sandbox (``run_task("suite")``, batch sizes 1
and 1000); its performance section's p50 latency of ``predict`` is set against ``performance.time_calls`` of the
same call made directly in this process, measured before and after the sandbox run (the median of both):
scikit-learn's ``predict`` for the pickle, ``InferenceSession.run`` on the label output (1 thread, no spinning,
float64 rows cast to float32 as a user would) for the ONNX file. Each figure is the median over rounds, each ratio
the median of the paired per-round ratios. Goal: sandbox / direct <= 1.05.
"""
from __future__ import annotations

import sys
from pathlib import Path

# run as a script, this file's folder comes first on sys.path and its name would shadow the onnx package
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse  # noqa: E402
import pickle  # noqa: E402

import numpy as np  # noqa: E402
import onnxruntime  # noqa: E402
import pandas as pd  # noqa: E402
from skl2onnx import to_onnx  # noqa: E402
from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from modelwatch.core.checks.performance import time_calls  # noqa: E402
from modelwatch.core.data.synthetic import generate  # noqa: E402
from modelwatch.core.sandbox.runner import Limits, run_task  # noqa: E402
from modelwatch.core.schema.from_model import schema_from_model  # noqa: E402

GOAL = 1.05
SIZES = (1, 1000)
CONFIG = {"n_samples": 1000, "batch_sizes": list(SIZES), "seed": 0, "explain": {"max_samples": 10, "background": 10},
          "drift": {"kinds": ["mean_shift"], "severities": [1.0]}}


def direct_session(data: bytes) -> tuple[onnxruntime.InferenceSession, str]:
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    return session, session.get_outputs()[0].name


def sandboxed_p50(data: bytes, fmt: str, schema: dict) -> dict[int, float]:
    payload = {"schema": schema, "config": CONFIG, "target": None}
    result = run_task("suite", data, fmt, payload, {}, Limits(timeout_s=600))
    return {size: result["performance"]["latency_ms"][str(size)]["p50"] for size in SIZES}


def direct_p50(predict, X: np.ndarray, budget: float) -> dict[int, float]:
    """On the suite's own rows: the first ``size`` generated rows, as ``performance`` takes them."""
    return {size: float(np.median(time_calls(predict, X[:size], budget))) * 1000 for size in SIZES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.5, help="seconds of timed direct calls per batch size")
    parser.add_argument("--rounds", type=int, default=3, help="sandbox runs per engine (medians are reported)")
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    onnx_bytes = to_onnx(forest, X[:1].astype(np.float32)).SerializeToString()
    session, label = direct_session(onnx_bytes)
    name = session.get_inputs()[0].name
    direct = {"sklearn": lambda batch: forest.predict(batch),
              "onnxruntime": lambda batch: session.run([label], {name: batch.astype(np.float32)})[0]}
    files = {"sklearn": (pickle.dumps(forest, protocol=5), "pickle"), "onnxruntime": (onnx_bytes, "onnx")}
    # the warm worker starts uncounted; the direct calls get the rows the suite generates from the same schema
    schema = schema_from_model(run_task("inspect", *files["sklearn"], limits=Limits(timeout_s=600)))
    rows = generate(schema, CONFIG["n_samples"], CONFIG["seed"]).to_numpy(dtype=float)
    measured = []
    with threadpool_limits(limits=1):
        for round_ in range(args.rounds):
            for engine, predict in direct.items():
                before = direct_p50(predict, rows, args.budget)
                inside = sandboxed_p50(*files[engine], schema)
                after = direct_p50(predict, rows, args.budget)
                for size in SIZES:
                    reference = float(np.median([before[size], after[size]]))
                    measured.append((round_, engine, size, inside[size], reference, inside[size] / reference))
    # per engine and batch size: median of the rounds (the ratio is the median of the paired per-round ratios)
    rounds = pd.DataFrame(measured, columns=["round", "engine", "batch", "sandbox", "direct", "ratio"])
    medians = rounds.groupby(["engine", "batch"], sort=False)[["sandbox", "direct", "ratio"]].median()
    figures = [(engine, size, *values) for (engine, size), values in zip(medians.index, medians.to_numpy())]
    print(f"{'engine':<12} {'batch':>5} {'sandbox p50 ms':>15} {'direct p50 ms':>14} {'ratio':>6}")
    for engine, size, inside, reference, ratio in figures:
        print(f"{engine:<12} {size:>5} {inside:>15.4f} {reference:>14.4f} {ratio:>6.3f}")
    frame = pd.DataFrame(figures, columns=["engine", "batch", "sandbox", "direct", "ratio"])
    frame = frame.set_index(["engine", "batch"])
    speedup = frame.loc["sklearn", "direct"] / frame.loc["onnxruntime", "direct"]
    print("onnxruntime vs sklearn, direct: " + ", ".join(f"batch {s}: {v:.1f}x faster" for s, v in speedup.items()))
    worst = float(frame["ratio"].max())
    print(f"worst sandbox / direct ratio: {worst:.3f} ({'within' if worst <= GOAL else 'OUTSIDE'} the goal of {GOAL})")


if __name__ == "__main__":
    main()
