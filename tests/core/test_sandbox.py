"""The sandbox: protections, timeout, memory, crashes, the warm worker's life, concurrency."""
from __future__ import annotations

import os
import pickle
import signal
import threading
import time

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

from modelwatch.core.sandbox import runner as sandbox
from modelwatch.core.sandbox.runner import Limits, run_task
from modelwatch.errors import ModelCrashed, ModelError, ResourceLimit, RunTimeout
from tests.core.malicious import _Reduce
from tests.factories import never_returning_onnx
from tests.support import npy

pytestmark = pytest.mark.usefixtures("sandbox")


@pytest.fixture(scope="module")
def tree():
    X, y = load_breast_cancer(return_X_y=True)
    return pickle.dumps(DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)), X


def _predict(blob: bytes, X: np.ndarray, limits: Limits = Limits(timeout_s=60)) -> dict:
    return run_task("predict", blob, "pickle", {"method": "predict"}, {"X.npy": npy(X)}, limits)


def test_protections_are_recorded_and_the_environment_is_clean(tree, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "do-not-leak")
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret")
    blob, X = tree
    progress = []
    result = run_task("predict", blob, "pickle", {}, {"X.npy": npy(X)}, Limits(timeout_s=60),
                      on_progress=lambda stage, fraction, extra=None: progress.append(stage))
    protections = result["info"]["sandbox"]
    assert protections["clean_env"] is True and protections["private_dir"] is True
    assert set(protections["rlimits"]) >= {"RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE"}
    from modelwatch.core.sandbox import landlock, seccomp

    assert protections["seccomp"] == ("allowlist" if seccomp.available() else None)
    assert protections["landlock"] is (landlock.abi_version() > 0)
    assert protections["uid"] != 0 and protections["no_capabilities"] and protections["no_new_privs"]
    assert result["info"]["intake"]["sandbox"] == protections
    assert progress[:2] == ["loading model", "predicting"]
    assert result["arrays"]["output"].shape == (len(X),)


def test_a_model_that_never_returns_is_stopped_by_the_timeout(tree):
    """A valid model that never returns (not a "slow" one: the outcome must not depend on the machine's speed)."""
    X = load_breast_cancer(return_X_y=True)[0][:20].astype(np.float32)
    started = time.monotonic()
    with pytest.raises(RunTimeout):
        run_task("predict", never_returning_onnx(), "onnx", {}, {"X.npy": npy(X)}, Limits(timeout_s=1.5))
    assert time.monotonic() - started < 60  # stopped, not waited for
    blob, X_small = tree
    assert _predict(blob, X_small)["arrays"]["output"].shape == (len(X_small),)  # the sandbox still serves


def test_cancel_stops_the_child_at_once(tree):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20000, 40))
    knn = KNeighborsClassifier(algorithm="brute").fit(X, rng.integers(0, 2, len(X)))
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(RunTimeout) as info:
        run_task("predict", pickle.dumps(knn), "pickle", {}, {"X.npy": npy(np.tile(X, (3, 1)))},
                 Limits(timeout_s=60), cancel=cancel)
    assert info.value.details == {"cancelled": True}
    assert time.monotonic() - started < 10


def test_filesystem_outside_the_private_directory_is_closed(tmp_path):
    """Even with the allowlist bypassed, the child cannot read the application's files (Landlock)."""
    from modelwatch.core.sandbox import landlock

    if landlock.abi_version() < 1:
        pytest.skip("this kernel has no Landlock")
    secret = tmp_path / "app.db"
    secret.write_text("SECRET_KEY=abc")
    os.chmod(tmp_path, 0o755)
    os.chmod(secret, 0o644)
    with pytest.raises(ModelError, match="PermissionError"):
        run_task("inspect", pickle.dumps(_Reduce(open, str(secret))), "pickle",
                 limits=Limits(timeout_s=30, trusted=True))


def test_memory_bomb_ends_in_resource_limit():
    # In trusted mode the allowlist does not stop the allocation: RLIMIT_AS does.
    bomb = pickle.dumps(_Reduce(bytearray, 6 * 1024**3))
    with pytest.raises(ResourceLimit):
        run_task("inspect", bomb, "pickle", limits=Limits(timeout_s=60, memory_mb=1536, trusted=True))


def _with_ballast(blob: bytes, mb: int) -> bytes:
    """The model of ``blob`` holding ``mb`` MB of ones from its loading on (every page touched), in a small pickle."""
    return pickle.dumps(_Reduce(eval, "(setattr(m, 'ballast_', __import__('numpy').ones(n << 17)), m)[1]",
                                {"m": pickle.loads(blob), "n": mb}))


def test_the_memory_cap_is_what_the_model_may_add_to_the_preloaded_libraries(tree):
    # The preloaded libraries map ~2 GB (mostly never resident): a cap on the whole address space left a model a few
    # dozen MB of a 2 GB figure, and a 300 MB model under a 512 MB cap could not even load.
    blob, X = tree
    limits = Limits(timeout_s=60, memory_mb=512, trusted=True)
    protections = _predict(_with_ballast(blob, 300), X, limits)["info"]["sandbox"]
    assert protections["memory_mb"] == 512 and protections["preloaded_mb"] > 100
    assert protections["address_space_mb"] == protections["preloaded_mb"] + 512
    with pytest.raises(ResourceLimit, match="512 MB of memory beyond"):
        _predict(_with_ballast(blob, 700), X, limits)


def test_worker_survives_a_child_crash(tree):
    blob, X = tree
    _predict(blob, X)
    pid = sandbox.worker_pid()
    assert pid is not None
    with pytest.raises(ModelCrashed, match="SIGABRT"):
        run_task("inspect", pickle.dumps(_Reduce(os.abort)), "pickle", limits=Limits(timeout_s=30, trusted=True))
    assert _predict(blob, X)["info"]["sandbox"]["mode"] == "zygote"
    assert sandbox.worker_pid() == pid


def test_dead_worker_is_restarted_and_its_start_is_not_charged_to_the_task(tree):
    blob, X = tree
    _predict(blob, X)
    pid = sandbox.worker_pid()
    os.kill(pid, signal.SIGKILL)  # the worker this test process started
    time.sleep(0.2)
    started = time.monotonic()
    result = _predict(blob, X, Limits(timeout_s=2))  # a restart imports for longer than that
    assert time.monotonic() - started > 2
    assert result["info"]["sandbox"]["mode"] == "zygote"
    assert sandbox.worker_pid() not in (None, pid)


def test_cold_start_is_hardened_too(tree):
    sandbox.configure(warm=False)  # the operator's switch: a fresh interpreter per task
    try:
        blob, X = tree
        result = _predict(blob, X)
    finally:
        sandbox.configure()
    protections = result["info"]["sandbox"]
    assert protections["mode"] == "cold" and protections["no_capabilities"] and protections["no_new_privs"]
    assert os.geteuid() != 0 or protections["uid"] != 0
    assert np.array_equal(result["arrays"]["output"], pickle.loads(blob).predict(X))


def test_concurrent_tasks_from_several_threads(tree):
    blob, X = tree
    expected = pickle.loads(blob).predict(X)
    outputs, errors = [], []

    def work(i: int) -> None:
        try:
            outputs.append(_predict(blob, X[i:])["arrays"]["output"])
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(o) for o in outputs) == [len(X) - i for i in (3, 2, 1, 0)]
    for out in outputs:
        assert np.array_equal(out, expected[len(X) - len(out):])
