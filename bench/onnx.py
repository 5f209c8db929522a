"""ONNX latency: the same forest in scikit-learn and in onnxruntime, inside the sandbox and called directly.

Run: ``.venv/bin/python bench/onnx.py [--budget 0.5]`` (about a minute and a half on a quiet machine; the warm
worker's start is not counted).

A 100-tree forest fitted on breast cancer is saved as a pickle and exported with skl2onnx (ZipMap included, as
users' files have it). Each file goes through the real suite in the sandbox (``run_task("suite")``, batch sizes 1
and 1000); its performance section's p50 latency of ``predict`` is set against ``performance.time_calls`` of the
same call made directly in this process, measured before and after the sandbox run (the median of both):
scikit-learn's ``predict`` for the pickle, ``InferenceSession.run`` on the label output (1 thread, no spinning,
float64 rows cast to float32 as a user would) for the ONNX file. Goal: sandbox / direct <= 1.05.
"""
from __future__ import annotations

import argparse
import pickle
import sys
from pathlib import Path

import numpy as np
import onnxruntime
import pandas as pd
from skl2onnx import to_onnx
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelwatch.core.performance import time_calls  # noqa: E402
from modelwatch.core.sandbox import Limits, run_task  # noqa: E402
from modelwatch.core.schema import schema_from_model  # noqa: E402

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


def sandboxed_p50(data: bytes, fmt: str) -> dict[int, float]:
    limits = Limits(timeout_s=600)
    info = run_task("inspect", data, fmt, limits=limits)
    payload = {"schema": schema_from_model(info), "config": CONFIG, "target": None}
    result = run_task("suite", data, fmt, payload, {}, limits)
    return {size: result["performance"]["latency_ms"][str(size)]["p50"] for size in SIZES}


def direct_p50(predict, X: np.ndarray, budget: float) -> dict[int, float]:
    out = {}
    for size in SIZES:
        batch = np.resize(X, (size, X.shape[1]))
        out[size] = float(np.median(time_calls(predict, batch, budget))) * 1000
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=0.5, help="seconds of timed direct calls per batch size")
    args = parser.parse_args()
    X, y = load_breast_cancer(return_X_y=True)
    forest = RandomForestClassifier(n_estimators=100, random_state=0).fit(X, y)
    onnx_bytes = to_onnx(forest, X[:1].astype(np.float32)).SerializeToString()
    session, label = direct_session(onnx_bytes)
    name = session.get_inputs()[0].name
    direct = {"sklearn": lambda batch: forest.predict(batch),
              "onnxruntime": lambda batch: session.run([label], {name: batch.astype(np.float32)})[0]}
    files = {"sklearn": (pickle.dumps(forest, protocol=5), "pickle"), "onnxruntime": (onnx_bytes, "onnx")}
    run_task("inspect", *files["sklearn"], limits=Limits(timeout_s=600))  # start the warm worker uncounted
    rows = []
    with threadpool_limits(limits=1):
        for engine, predict in direct.items():
            before = direct_p50(predict, X, args.budget)
            inside = sandboxed_p50(*files[engine])
            after = direct_p50(predict, X, args.budget)
            for size in SIZES:
                reference = float(np.median([before[size], after[size]]))
                rows.append((engine, size, inside[size], reference, inside[size] / reference))
    print(f"{'engine':<12} {'batch':>5} {'sandbox p50 ms':>15} {'direct p50 ms':>14} {'ratio':>6}")
    for engine, size, inside, reference, ratio in rows:
        print(f"{engine:<12} {size:>5} {inside:>15.4f} {reference:>14.4f} {ratio:>6.3f}")
    frame = pd.DataFrame(rows, columns=["engine", "batch", "sandbox", "direct", "ratio"]).set_index(["engine", "batch"])
    speedup = frame.loc["sklearn", "direct"] / frame.loc["onnxruntime", "direct"]
    print("onnxruntime vs sklearn, direct: " + ", ".join(f"batch {s}: {v:.1f}x faster" for s, v in speedup.items()))
    worst = float(frame["ratio"].max())
    print(f"worst sandbox / direct ratio: {worst:.3f} ({'within' if worst <= GOAL else 'OUTSIDE'} the goal of {GOAL})")


if __name__ == "__main__":
    main()
