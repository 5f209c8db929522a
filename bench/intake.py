"""The cost of isolation: sandboxed load+predict against plain in-process pickle.load+predict, in one run.

Run: ``.venv/bin/python bench/intake.py [--repeat 15] [--trees 100]``.

For a 100-tree random forest (breast cancer data, every row predicted), printed:
- plain: ``pickle.loads`` + ``predict`` in this process (the unsafe reference), median of the repeats;
- the same through the allowlist unpickler in this process (the cost of the restricted loader alone);
- sandboxed with the warm worker: ``run_task("predict")`` end to end (files, fork, hardening, static pass,
  allowlisted load, predict, ``.npy`` back), median; the ratio to plain and the isolation cost in ms;
- sandboxed with a cold start (``MODELWATCH_SANDBOX_WARM=0``: a fresh interpreter per task), median of fewer runs;
- the static scan the web process does before storing an upload;
- the structural validation after load (``validate_model``: sparse formats, tree indices, functions, labels)
  against the allowlist load alone.
Goals: the warm worker adds at most 300 ms per run; the validation costs under 10% of the load.
"""
from __future__ import annotations

import argparse
import io
import os
import pickle
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from modelwatch.core.intake import scan  # noqa: E402
from modelwatch.core.intake.allowlist import load_allowlist  # noqa: E402
from modelwatch.core.intake.unpickler import restricted_loads  # noqa: E402
from modelwatch.core.intake.validate import validate_model  # noqa: E402
from modelwatch.core.sandbox import runner as sandbox  # noqa: E402


def _median_ms(fn, repeat: int, clock=time.perf_counter) -> float:
    times = []
    for _ in range(repeat):
        started = clock()
        fn()
        times.append((clock() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--trees", type=int, default=100)
    args = parser.parse_args()

    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier

    X, y = load_breast_cancer(return_X_y=True)
    model = RandomForestClassifier(n_estimators=args.trees, random_state=0).fit(X, y)
    blob = pickle.dumps(model, protocol=5)
    buffer = io.BytesIO()
    np.save(buffer, X, allow_pickle=False)
    files = {"X.npy": buffer.getvalue()}
    expected = model.predict(X)
    allowlist = load_allowlist()

    plain = _median_ms(lambda: pickle.loads(blob).predict(X), args.repeat)
    restricted = _median_ms(lambda: restricted_loads(blob, allowlist).predict(X), args.repeat)
    scan_ms = _median_ms(lambda: scan(blob, "pickle"), args.repeat)
    # CPU time of this process: on a shared machine, wall time of a few ms is mostly other processes' turns.
    load_ms = _median_ms(lambda: restricted_loads(blob, allowlist), args.repeat, time.process_time)
    loaded = restricted_loads(blob, allowlist)
    validate_ms = _median_ms(lambda: validate_model(loaded), args.repeat, time.process_time)

    sandbox.warm_up(wait=True)
    first = sandbox.run_task("predict", blob, "pickle", {}, files)
    assert np.array_equal(first["arrays"]["output"], expected), "sandboxed predictions differ"
    inside = []

    def warm_call() -> None:
        result = sandbox.run_task("predict", blob, "pickle", {}, files)
        inside.append(result["info"]["load_time_ms"] + result["predict_ms"])

    warm = _median_ms(warm_call, args.repeat)
    os.environ["MODELWATCH_SANDBOX_WARM"] = "0"
    cold = _median_ms(lambda: sandbox.run_task("predict", blob, "pickle", {}, files), max(3, args.repeat // 5))
    del os.environ["MODELWATCH_SANDBOX_WARM"]
    protections = first["info"]["sandbox"]
    sandbox.shutdown_worker()

    print(f"model: RandomForestClassifier({args.trees} trees), {len(blob) / 2**20:.1f} MB pickle, "
          f"predict on {X.shape[0]} rows x {X.shape[1]} features; medians of {args.repeat} runs")
    print(f"protections: seccomp={protections['seccomp']} landlock={protections['landlock']} "
          f"rlimits={','.join(protections['rlimits'])} uid_dropped={protections['uid_dropped']}")
    print(f"{'plain pickle.loads + predict (in process, unsafe)':58} {plain:8.1f} ms   (reference)")
    print(f"{'allowlist unpickler + predict (in process)':58} {restricted:8.1f} ms   x{restricted / plain:.2f}")
    print(f"{'static scan in the web process':58} {scan_ms:8.1f} ms")
    print(f"{'allowlist load alone (in process, CPU time)':58} {load_ms:8.1f} ms")
    print(f"{'structural validation after load (in process, CPU time)':58} {validate_ms:8.1f} ms   "
          f"{100 * validate_ms / load_ms:.1f}% of the load (goal < 10%): "
          f"{'met' if validate_ms < 0.1 * load_ms else 'NOT met'}")
    print(f"{'sandboxed, warm worker: run_task end to end':58} {warm:8.1f} ms   x{warm / plain:.2f}")
    print(f"{'   of which load + predict inside the child':58} {statistics.median(inside):8.1f} ms")
    print(f"{'sandboxed, cold start per task':58} {cold:8.1f} ms   x{cold / plain:.2f}")
    print(f"isolation cost with the warm worker: {warm - plain:.1f} ms per run (goal <= 300 ms): "
          f"{'met' if warm - plain <= 300 else 'NOT met'}")
    print(f"isolation cost with a cold start:    {cold - plain:.1f} ms per run")


if __name__ == "__main__":
    main()
