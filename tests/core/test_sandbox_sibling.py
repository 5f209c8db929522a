"""Drift in the suite's sibling process (``core.sandbox.sibling``), helped by the child: the same figures as in one
process, the same confinement, and a crash of the model in the sibling reported as a crash while the other sections
stand. (``test_drift_share`` checks that groups computed by a helper give the same section, whatever the split.)"""
from __future__ import annotations

import json
import os
import pickle
import tempfile
import threading
import time
from pathlib import Path

import pytest
from sklearn.ensemble import RandomForestClassifier

from modelwatch.core.model.introspect import describe
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.core.sandbox.runner import Limits, run_task
from modelwatch.core.suite import run_suite
from tests.core.malicious import _Reduce
from tests.core.suite_context import schema_from_frame, untimed_drift
from tests.core.test_sandbox_orphans import worker_processes

pytestmark = [pytest.mark.usefixtures("sandbox"),
              pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                                 reason="the sibling process is made only where the sandbox has two cores")]

CONFIG = {"n_samples": 200, "batch_sizes": [1], "timeout_s": 120,
          "performance": {"latency_budget_s": 0.3, "error_budget_s": 10},
          "quality": {"n_boot": 20}, "explain": {"max_samples": 10, "background": 10},
          "drift": {"severities": [0.5, 2.0], "kinds": ["mean_shift", "missing_values"], "resamples": 10}}


def _payload(X) -> dict:
    return {"schema": schema_from_frame(X), "target": "target", "config": CONFIG}



def test_drift_from_the_sibling_equals_drift_computed_in_one_process(cancer):
    X, y = cancer
    X = X.iloc[:, :8]
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    sample = X.iloc[:150].assign(target=y.iloc[:150]).to_csv(index=False).encode()
    result = run_task("suite", pickle.dumps(model), "pickle", _payload(X), {"sample.csv": sample},
                      Limits(timeout_s=120))
    assert result["model"]["intake"]["sandbox"]["sibling_process"] is True
    assert "skipped" not in result["drift"]
    with tempfile.TemporaryDirectory() as tmp:  # the same task in this process: drift on a thread beside the others
        root = Path(tmp)
        (root / "sample.csv").write_bytes(sample)
        (root / "model.bin").write_bytes(pickle.dumps(model))
        here = run_suite(model, describe(model), _payload(X), root, lambda stage, fraction, **extra: None)
    expected = json.loads(json.dumps(to_jsonable(here["drift"])))
    assert len(expected["scenarios"]) == len(result["drift"]["scenarios"]) > 10
    assert untimed_drift(result["drift"]) == untimed_drift(expected)


# A logistic regression (fitted as it loads) whose prediction methods call ``act()`` in the sibling only: the
# process whose stdout is /dev/null.
_IN_THE_SIBLING = """
import os, stat
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=3000).fit(X.iloc[:, :5], y)
{act}
def guarded(method):
    def call(rows):
        if stat.S_ISCHR(os.fstat(1).st_mode):
            act()
        return method(rows)
    return call
for name in ("predict", "predict_proba", "decision_function"):
    setattr(model, name, guarded(getattr(model, name)))
"""
CRASH = "def act():\n    import ctypes\n    ctypes.string_at(0)"
HANG = "def act():\n    import time\n    while True:\n        time.sleep(1)"


def _acting_in_the_sibling(act: str) -> bytes:
    code = _IN_THE_SIBLING.replace("{act}", act)
    return pickle.dumps(_Reduce(eval, "(lambda g: (exec(code, g), g['model'])[1])({})", {"code": code}))


def test_a_crash_in_the_sibling_is_named_and_the_other_sections_stand(cancer, warm):
    X, y = cancer
    X = X.iloc[:, :5]
    sample = X.iloc[:150].assign(target=y.iloc[:150]).to_csv(index=False).encode()
    result = run_task("suite", _acting_in_the_sibling(CRASH), "pickle", _payload(X), {"sample.csv": sample},
                      Limits(timeout_s=120, trusted=True))
    assert result["drift"]["skipped"] == "ModelCrashed: The model's drift process crashed (SIGSEGV)."
    assert result["quality"]["metrics"]["accuracy"] > 0.8
    assert set(result["performance"]["latency_ms"]) == {"1"}
    assert "skipped" not in result["robustness"] and "skipped" not in result["explainability"]


# In the sibling, the model tries to get out and reports what it got.
PROBE = """
import errno, socket
def attempt(name, action):
    try:
        action()
        return name + "=allowed"
    except OSError as exc:
        return name + "=" + errno.errorcode.get(exc.errno, str(exc.errno))
def act():
    seen = [attempt("fork", lambda: os._exit(0) if os.fork() == 0 else None),
            attempt("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
            attempt("signal_child", lambda: os.kill(os.getppid(), 0)),
            attempt("read_outside", lambda: open(canary, "rb").read()), "uid=%d" % os.getuid()]
    raise RuntimeError(" ".join(seen))
"""


def test_the_sibling_is_confined_as_the_child_is(cancer, tmp_path):
    from modelwatch.core.sandbox import seccomp

    X, y = cancer
    X = X.iloc[:, :5]
    canary = tmp_path / "canary"
    canary.write_text("secret")
    sample = X.iloc[:150].assign(target=y.iloc[:150]).to_csv(index=False).encode()
    probing = _acting_in_the_sibling(f"canary = {str(canary)!r}\n" + PROBE)
    result = run_task("suite", probing, "pickle", _payload(X), {"sample.csv": sample},
                      Limits(timeout_s=120, trusted=True))
    seen = dict(item.split("=") for item in result["drift"]["skipped"].split(": ", 1)[1].split())
    assert seen["uid"] == str(result["model"]["intake"]["sandbox"]["uid"])
    assert seen["read_outside"] != "allowed"
    if seccomp.available():
        assert (seen["fork"], seen["socket"], seen["signal_child"]) == ("EPERM", "EPERM", "EPERM"), seen


def _worker_family() -> set[int]:
    """The warm worker and every process forked from it."""
    from modelwatch.core.sandbox import runner

    return set(worker_processes(runner._ZYGOTE.socket_path))


def test_a_timeout_stops_the_sibling_too(cancer):
    from modelwatch.core.sandbox import runner
    from modelwatch.errors import RunTimeout

    X, y = cancer
    X = X.iloc[:, :5]
    runner.warm_up(wait=True)
    before = _worker_family()
    sample = X.iloc[:150].assign(target=y.iloc[:150]).to_csv(index=False).encode()
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:  # how many processes the run had at once: the child and its sibling
        while not done.wait(0.2):
            seen.append(len(_worker_family() - before))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with pytest.raises(RunTimeout):
            run_task("suite", _acting_in_the_sibling(HANG), "pickle", _payload(X), {"sample.csv": sample},
                     Limits(timeout_s=10, trusted=True))
    finally:
        done.set()
        watcher.join()
    assert max(seen) == 2
    deadline = time.monotonic() + 60  # killed at once; generous for a loaded machine
    while _worker_family() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _worker_family() - before, "a sandboxed process outlived its run"


def test_a_sibling_that_never_answers_is_named_at_the_runs_deadline_and_the_run_ends(cancer):
    X, y = cancer
    X = X.iloc[:, :5]
    sample = X.iloc[:150].assign(target=y.iloc[:150]).to_csv(index=False).encode()
    payload = {**_payload(X), "config": {**CONFIG, "timeout_s": 8}}  # the run's deadline, well inside the sandbox's
    result = run_task("suite", _acting_in_the_sibling(HANG), "pickle", payload, {"sample.csv": sample},
                      Limits(timeout_s=120, trusted=True))
    assert result["drift"]["skipped"].startswith("RunTimeout: The drift process did not answer by the run's deadline")
    assert result["quality"]["metrics"]["accuracy"] > 0.8
