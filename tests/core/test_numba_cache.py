"""Compiled numba code in the sandbox: the warm worker compiles it ahead and keeps it between starts, only in a
private directory no sandboxed child can write; a child that compiles keeps the code in memory."""
from __future__ import annotations

import os
import pickle
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from modelwatch.app import create_app
from modelwatch.core.drift import binned
from modelwatch.core.drift.detect import detect_column
from modelwatch.core.drift.profile import profile
from modelwatch.core.drift.stattests import Selection
from modelwatch.core.sandbox import runner as sandbox
from modelwatch.core.sandbox.numba_cache import private_dir
from modelwatch.core.warm import warm_up
from modelwatch.errors import ModelError
from modelwatch.settings import Settings
from tests.conftest import make_config
from tests.core.malicious import _Reduce
from tests.core.suite_context import schema_from_frame
from tests.support import npy


def test_a_missing_directory_is_made_private(tmp_path):
    path = tmp_path / "cache" / "numba"
    assert private_dir(str(path)) == str(path.resolve())
    assert stat.S_IMODE(path.stat().st_mode) == 0o700


@pytest.mark.parametrize("mode", [0o770, 0o750, 0o707, 0o705])
def test_a_directory_others_may_enter_is_refused(tmp_path, mode):
    path = tmp_path / "numba"
    path.mkdir()
    path.chmod(mode)
    assert private_dir(str(path)) is None


def test_a_parent_others_may_write_is_refused_unless_it_is_sticky(tmp_path):
    parent = tmp_path / "shared"
    parent.mkdir()
    parent.chmod(0o777)
    assert private_dir(str(parent / "numba")) is None  # another user could swap the directory for their own
    parent.chmod(0o1777)  # as /tmp: no one may rename or delete what they do not own
    assert private_dir(str(parent / "numba")) == str((parent / "numba").resolve())


def test_a_file_in_its_place_is_refused(tmp_path):
    (tmp_path / "numba").write_text("")
    assert private_dir(str(tmp_path / "numba")) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a directory to another user needs root")
def test_another_users_directory_is_refused_even_through_a_symlink(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 65534, 65534)
    (tmp_path / "link").symlink_to(theirs)
    assert private_dir(str(theirs)) is None
    assert private_dir(str(tmp_path / "link")) is None


def _worker_cache_dir() -> str:
    """NUMBA_CACHE_DIR in the running warm worker's environment."""
    environ = Path(f"/proc/{sandbox.worker_pid()}/environ").read_bytes().split(b"\0")
    return next(item.split(b"=", 1)[1].decode() for item in environ if item.startswith(b"NUMBA_CACHE_DIR="))


@pytest.fixture
def configured(sandbox):
    """Configure the runner's numba cache for one test; the session's setting and a fresh worker afterwards."""
    def configure(path: str, compile_explanations: bool = True) -> None:
        warm = {} if compile_explanations else {"MODELWATCH_SANDBOX_WARM_EXPLAIN": "0"}  # a start of ~3 s, not ~15
        sandbox.configure(passed_env={**Settings.SANDBOX_ENV, **warm}, numba_cache=path)
        sandbox.shutdown_worker()

    yield configure
    configure(Settings.SANDBOX_NUMBA_CACHE)


@pytest.mark.parametrize("setting", ["unsafe", "none"])
def test_without_a_private_directory_each_worker_compiles_into_its_own(configured, tmp_path, setting):
    shared = tmp_path / "numba"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    configured(str(shared) if setting == "unsafe" else "", compile_explanations=False)
    sandbox.warm_up(wait=True)
    own = _worker_cache_dir()
    assert own != str(shared) and Path(own).name.startswith("modelwatch-zygote-")
    assert stat.S_IMODE(Path(own).stat().st_mode) == 0o700


def test_a_second_warm_worker_loads_the_compiled_code_the_first_one_kept(configured, tmp_path):
    cache = tmp_path / "numba"
    configured(str(cache))
    sandbox.warm_up(wait=True)
    assert _worker_cache_dir() == str(cache.resolve())
    kept = {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in cache.rglob("*.nb*")}
    assert {"treeshap._rows", "_tabular._delta_masking", "_masked_model._build_fixed_multi_output"} <= {
        path.name.split("-")[0] for path in kept}, sorted(kept)
    sandbox.shutdown_worker()
    sandbox.warm_up(wait=True)
    # loaded, not compiled again: numba replaces an index (a new inode) whenever it saves a compile
    assert {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in cache.rglob("*.nb*")} == kept
    X, y = load_iris(return_X_y=True)
    out = sandbox.run_task("predict", pickle.dumps(DecisionTreeClassifier(random_state=0).fit(X, y)), "pickle",
                           {"method": "predict"}, {"X.npy": npy(X)}, sandbox.Limits(timeout_s=60))
    assert out["info"]["sandbox"]["mode"] == "zygote" and (out["arrays"]["output"] == y).all()


@pytest.mark.parametrize("warm", [True, False], ids=["warm worker that compiled nothing", "cold"])
def test_a_sandboxed_child_that_compiles_a_kernel_keeps_it_in_memory(configured, warm):
    """A child may read no cache directory: its compile must not look one up (it failed with PermissionError, and
    a tree model's SHAP interactions were skipped, with MODELWATCH_SANDBOX_WARM=0 or ..._WARM_EXPLAIN=0)."""
    configured(Settings.SANDBOX_NUMBA_CACHE, compile_explanations=False)
    sandbox.configure(warm=warm)  # the rest as configured just above
    probe = ("from modelwatch.core.explain import treeshap\n"
             "assert not treeshap._buffers.signatures\n"
             "raise RuntimeError(f'compiled {len(treeshap._buffers(3))} buffers')")
    with pytest.raises(ModelError) as info:
        sandbox.run_task("inspect", pickle.dumps(_Reduce(exec, probe, {})), "pickle",
                         limits=sandbox.Limits(timeout_s=120, trusted=True))
    assert info.value.message.startswith("The model raised RuntimeError: compiled 4 buffers"), info.value.message


def test_warming_up_compiles_the_drift_signatures_runs_use():
    """After the warm-up, binned statistics of read-only (pandas' copy-on-write) and writable columns, with KS and
    Wasserstein, compile nothing: a sandboxed child would otherwise pay the compile in every run."""
    warm_up(explain=False)
    compiled = {kernel.__name__: list(kernel.signatures) for kernel in binned.KERNELS}
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"x": rng.normal(size=30_000), "y": rng.normal(size=30_000)})
    current = reference + 0.5
    current.loc[::7, "y"] = np.nan  # a column with missing values is a writable copy without them
    columns = profile(reference).columns
    for name in ("x", "y"):
        for test in ("ks", "wasserstein"):
            found = detect_column(columns[name], current[name], Selection(tests={"all": test}))
            assert found["method"] == "binned"
    assert {kernel.__name__: list(kernel.signatures) for kernel in binned.KERNELS} == compiled


def test_a_large_run_has_its_binned_drift_and_its_interactions_warm_or_cold(warm):
    """Over 50,000 drift rows the statistics come from drift's binned kernels, and a forest's interactions from the
    tree kernels: a child compiles them (cold) or its warm worker has (their section was skipped, PermissionError)."""
    X, y = load_iris(return_X_y=True, as_frame=True)
    X = X.iloc[:, :3]
    model = RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y)
    config = {"n_samples": 30_000, "batch_sizes": [1], "performance": {"latency_budget_s": 0.2},
              "drift": {"kinds": ["mean_shift"], "severities": [1.0], "resamples": 2},
              "explain": {"max_samples": 20, "background": 10}, "quality": {"n_boot": 10}}
    payload = {"schema": schema_from_frame(X), "config": config}
    result = sandbox.run_task("suite", pickle.dumps(model), "pickle", payload, limits=sandbox.Limits(timeout_s=300))
    drift = result["drift"]
    assert "skipped" not in drift and drift["n_reference"] == 30_000 and drift["scenarios"], drift
    interactions = result["explainability"]["interactions"]
    assert "skipped" not in interactions and np.isfinite(interactions["matrix"]).all(), interactions


def test_the_operator_is_told_when_the_cache_they_set_is_not_used(tmp_path, caplog):
    shared = tmp_path / "numba"
    shared.mkdir()
    shared.chmod(0o777)
    try:
        with caplog.at_level("WARNING", logger="modelwatch.app"):
            create_app(make_config(f"sqlite:///{tmp_path / 'a.db'}", SANDBOX_NUMBA_CACHE=str(shared)))
        assert f"MODELWATCH_SANDBOX_NUMBA_CACHE={shared} is not used" in caplog.text
        caplog.clear()
        shared.chmod(0o700)
        with caplog.at_level("WARNING", logger="modelwatch.app"):
            create_app(make_config(f"sqlite:///{tmp_path / 'b.db'}", SANDBOX_NUMBA_CACHE=str(shared)))
        assert "MODELWATCH_SANDBOX_NUMBA_CACHE" not in caplog.text
    finally:
        sandbox.configure(passed_env=Settings.SANDBOX_ENV, numba_cache=Settings.SANDBOX_NUMBA_CACHE)
