"""A model that runs its own code (trusted mode) tries to get out of the sandbox; each attempt must be refused.

The probe is built here: a pickle whose load runs ``_PROBE``, which tries each action, records the errno it
got, and raises with the record as JSON (the sandbox turns that into a ``model_error`` whose message the
test reads). Others write straight into the result pipe what a hostile child would: an oversized result, a
pickle dressed as ``.npy``.
"""
from __future__ import annotations

import json
import os
import pickle
import platform
import secrets
import subprocess
import time

import numpy as np
import pytest

from modelwatch.core.sandbox import landlock, privileges, seccomp
from modelwatch.core.sandbox.numba_cache import private_dir
from modelwatch.core.sandbox.runner import Limits, run_task
from modelwatch.errors import ModelError, ResourceLimit
from modelwatch.settings import Settings
from tests.core.malicious import _Reduce

pytestmark = pytest.mark.usefixtures("sandbox")

LIMITS = Limits(timeout_s=60, trusted=True)  # the probes run their own code: the operator's trusted mode
SYSCALLS = {"x86_64": {"rt_sigqueueinfo": 129, "syslog": 103, "fsopen": 430, "open_tree": 428},
            "aarch64": {"rt_sigqueueinfo": 138, "syslog": 116, "fsopen": 430, "open_tree": 428}}

_PROBE = r'''
import ctypes, errno, json, os, resource, signal, socket, stat, sys
libc = ctypes.CDLL(None, use_errno=True)
NR = {nr!r}
seen = {{}}

def raw(name, *args):
    if libc.syscall(NR[name], *args) == -1:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))

def attempt(name, action):
    try:
        action()
        seen[name] = "allowed"
    except OSError as exc:
        seen[name] = errno.errorcode.get(exc.errno, str(exc.errno))

outside, canary, other, parent, cache = {outside!r}, {canary!r}, {other}, {parent}, {cache!r}
attempt("chmod_outside", lambda: os.chmod(outside, 0o6777))
attempt("chown_outside", lambda: os.chown(outside, 0, 0))
attempt("utime_outside", lambda: os.utime(outside, (0, 0)))
attempt("setxattr_outside", lambda: os.setxattr(outside, "user.probe", b"1"))
attempt("mknod_char", lambda: os.mknod("kmsg", 0o666 | stat.S_IFCHR, os.makedev(1, 11)))
attempt("fifo_result", lambda: os.mkfifo("result.json"))
attempt("symlink_result", lambda: os.symlink(canary, "result.json"))
attempt("symlink_stderr", lambda: os.symlink(canary, "stderr.txt"))
attempt("hardlink_canary", lambda: os.link(canary, "canary-link"))
attempt("read_canary", lambda: open(canary, "rb").read())
attempt("read_kmsg", lambda: open("/dev/kmsg", "rb").read(1))
attempt("list_numba_cache", lambda: os.listdir(cache))
attempt("plant_in_numba_cache", lambda: open(os.path.join(cache, "planted.nbi"), "xb").close())
attempt("kill_other", lambda: os.kill(other, signal.SIGKILL))
attempt("kill_parent", lambda: os.kill(parent, 0))
attempt("kill_zygote", lambda: os.kill(os.getppid(), signal.SIGKILL))
attempt("kill_group_of_other", lambda: os.killpg(other, signal.SIGKILL))
attempt("sigqueue_other", lambda: raw("rt_sigqueueinfo", other, signal.SIGKILL, ctypes.create_string_buffer(128)))
attempt("prlimit_other", lambda: resource.prlimit(other, resource.RLIMIT_NOFILE, (3, 3)))
attempt("setpriority_other", lambda: os.setpriority(os.PRIO_PROCESS, other, 19))
attempt("setpriority_parent", lambda: os.setpriority(os.PRIO_PROCESS, os.getppid(), 19))
attempt("setpriority_user", lambda: os.setpriority(os.PRIO_USER, 0, 19))
attempt("syslog", lambda: raw("syslog", 3, ctypes.create_string_buffer(64), 64))
attempt("fsopen", lambda: raw("fsopen", b"tmpfs", 0))
attempt("open_tree", lambda: raw("open_tree", -100, b"/", 1))
attempt("socket", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
attempt("wait_any_child", lambda: os.waitpid(-1, os.WNOHANG))
attempt("fork", lambda: os._exit(0) if os.fork() == 0 else None)
attempt("setuid_root", lambda: os.setuid(0))
attempt("own_limit", lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
attempt("own_priority", lambda: os.setpriority(os.PRIO_PROCESS, 0, 1))
attempt("signal_self", lambda: os.kill(os.getpid(), 0))
print(json.dumps({{"stage": "probe", "progress": 0.5, "section": "probe", "headline": {{"ok": 1}}}}), flush=True)
print(json.dumps({{"stage": "big", "progress": 0.6, "headline": "x" * 100000}}), flush=True)
print(json.dumps({{"stage": "seen", "progress": 0.7, "seen": seen}}), flush=True)
raise RuntimeError("probe done")
'''


@pytest.fixture
def canary(tmp_path):
    """A secret in a file the sandbox user could otherwise touch: its own, world-readable, outside the sandbox."""
    token = secrets.token_hex(16)
    path = tmp_path / "canary.txt"
    path.write_text(token)
    os.chmod(tmp_path, 0o755)
    os.chmod(path, 0o644)
    return path, token


def _owned_by_sandbox(path):
    identity = privileges.resolve_identity("modelwatch-sandbox") if os.geteuid() == 0 else None
    if identity and identity.uid is not None:
        os.chown(path, identity.uid, identity.gid)


def test_a_model_running_its_own_code_is_refused_every_escape(warm, canary, tmp_path):
    canary_path, token = canary
    outside = tmp_path / "outside.txt"
    outside.write_text("outside")
    os.chmod(outside, 0o644)
    _owned_by_sandbox(outside)  # only seccomp stands between the child and this file's metadata
    before = os.stat(outside)
    # the warm workers' compiled code, which they read back with pickle outside the sandbox
    cache = private_dir(Settings.SANDBOX_NUMBA_CACHE)
    assert cache is not None
    nr = SYSCALLS.get(platform.machine())
    if nr is None:
        pytest.skip("syscall numbers of this architecture are not listed")
    other = subprocess.Popen(["sleep", "600"])
    try:
        code = _PROBE.format(nr=nr, outside=str(outside), canary=str(canary_path), other=other.pid,
                             parent=os.getpid(), cache=cache)
        extras = []
        with pytest.raises(ModelError) as info:
            run_task("inspect", pickle.dumps(_Reduce(exec, code, {})), "pickle", limits=LIMITS,
                     on_progress=lambda stage, fraction, extra=None: extras.append((stage, extra)))
        assert other.poll() is None  # the unrelated process is alive
    finally:
        other.kill()
        other.wait()
    assert info.value.message.startswith("The model raised RuntimeError: probe done")
    seen = next(extra["seen"] for stage, extra in extras if stage == "seen")
    allowed = {"own_limit", "own_priority", "signal_self"}
    assert {name for name, outcome in seen.items() if outcome == "allowed"} == allowed, seen
    if seccomp.available():
        for name in ("chmod_outside", "chown_outside", "utime_outside", "setxattr_outside", "kill_other",
                     "kill_parent", "sigqueue_other", "prlimit_other", "setpriority_other", "syslog", "fsopen",
                     "open_tree", "socket", "fork", "wait_any_child"):
            assert seen[name] == "EPERM", (name, seen[name])
    after = os.stat(outside)
    assert (after.st_mode, after.st_uid, after.st_mtime_ns) == (before.st_mode, before.st_uid, before.st_mtime_ns)
    assert token not in json.dumps(info.value.to_dict())
    assert not os.path.exists(os.path.join(cache, "planted.nbi"))
    # progress lines: small extra keys reach the callback, an oversized one is cut to (stage, fraction)
    assert ("probe", {"section": "probe", "headline": {"ok": 1}}) in extras and ("big", None) in extras


def test_the_run_reports_the_isolation_in_force(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    X, y = load_iris(return_X_y=True)
    info = run_task("inspect", pickle.dumps(DecisionTreeClassifier().fit(X, y)), "pickle", limits=LIMITS)
    sandbox = info["sandbox"]
    assert sandbox["seccomp"] == ("allowlist" if seccomp.available() else None)
    assert sandbox["landlock_abi"] == landlock.abi_version()
    assert sandbox["no_capabilities"] and sandbox["no_new_privs"] and sandbox["not_dumpable"]
    if os.geteuid() == 0:
        assert sandbox["uid"] == privileges.resolve_identity("modelwatch-sandbox").uid
        assert sandbox["capabilities"]["CapBnd"] == "0000000000000000"
        assert sandbox["pid_namespace"] is True
        assert sandbox["insecure_root"] is False


def _writes_result(data: bytes) -> bytes:
    """A model that sends ``data`` down the result pipe itself and exits before the sandbox can write."""
    code = f"import os\nos.write(3, {data!r})\nos._exit(0)\n"
    return pickle.dumps(_Reduce(exec, code, {}))


def test_a_pickle_sent_as_an_array_is_refused_without_unpickling(tmp_path):
    canary = tmp_path / "unpickled"
    payload = pickle.dumps(np.array([_Reduce(os.system, f"touch {canary}")], dtype=object))
    for dtype in ("|O8", "|V8", "object"):  # described as objects, raw records, or in numpy's own words
        header = json.dumps({"info": {}, "arrays": {"output": {"dtype": dtype, "shape": [1],
                                                               "bytes": len(payload)}}}).encode()
        with pytest.raises(ModelError, match="unreadable array"):
            run_task("inspect", _writes_result(header + b"\n" + payload), "pickle", limits=LIMITS)
    assert not canary.exists()


def test_malformed_and_oversized_results_are_clear_errors():
    with pytest.raises(ModelError, match="unreadable result"):
        run_task("inspect", _writes_result(b"{not json"), "pickle", limits=LIMITS)
    with pytest.raises(ModelError, match="do not match"):
        run_task("inspect", _writes_result(b'{"arrays": {"x": 5}}\n12'), "pickle", limits=LIMITS)
    code = "import os\nchunk = b'x' * (1 << 20)\nwhile True:\n    os.write(3, chunk)\n"
    started = time.monotonic()
    with pytest.raises(ResourceLimit, match="larger than 1 MB"):
        run_task("inspect", pickle.dumps(_Reduce(exec, code, {})), "pickle",
                 limits=Limits(timeout_s=60, max_result_mb=1, trusted=True))
    assert time.monotonic() - started < 30


def test_crashes_are_named_and_limits_are_not_crashes():
    from modelwatch.errors import ModelCrashed

    for name in ("SIGSEGV", "SIGBUS", "SIGILL", "SIGFPE"):
        code = f"import os, signal\nos.kill(os.getpid(), signal.{name})\n"
        with pytest.raises(ModelCrashed, match=name):
            run_task("inspect", pickle.dumps(_Reduce(exec, code, {})), "pickle", limits=LIMITS)
    with pytest.raises(ResourceLimit):
        run_task("inspect", pickle.dumps(_Reduce(exec, "import os, signal\nos.kill(os.getpid(), signal.SIGXCPU)\n")),
                 "pickle", limits=LIMITS)


def test_without_a_sandbox_user_root_fails_closed_unless_overridden():
    if os.geteuid() != 0:
        assert privileges.resolve_identity("no-such-user-modelwatch") == privileges.Identity(None, None)
        return
    with pytest.raises(privileges.SandboxUnavailable, match="MODELWATCH_SANDBOX_ALLOW_INSECURE"):
        privileges.resolve_identity("no-such-user-modelwatch")
    assert privileges.resolve_identity("no-such-user-modelwatch", allow_insecure=True).insecure is True
    with pytest.raises(privileges.SandboxUnavailable):
        privileges.resolve_identity("0:0")


def test_the_app_refuses_to_start_where_models_would_run_as_root_unless_the_operator_allows_it():
    if os.geteuid() != 0:
        pytest.skip("only a root server has root to drop")
    from sklearn.datasets import load_iris
    from sklearn.tree import DecisionTreeClassifier

    from modelwatch.app import create_app
    from modelwatch.core.sandbox import runner as sandbox
    from tests.conftest import make_config

    with pytest.raises(privileges.SandboxUnavailable, match="does not exist"):
        create_app(make_config("sqlite://", SANDBOX_USER="no-such-user-modelwatch"))
    X, y = load_iris(return_X_y=True)
    try:
        create_app(make_config("sqlite://", SANDBOX_USER="no-such-user-modelwatch", SANDBOX_ALLOW_INSECURE=True))
        info = run_task("inspect", pickle.dumps(DecisionTreeClassifier().fit(X, y)), "pickle", limits=LIMITS)
    finally:
        sandbox.configure()  # back to the default sandbox user for the tests that follow
    protections = info["sandbox"]
    assert protections["insecure_root"] is True and protections["uid"] == 0
    assert protections["no_capabilities"] and protections["capabilities"]["CapBnd"] == "0000000000000000"


def test_a_model_error_is_bounded_and_names_places_not_source():
    with pytest.raises(ModelError) as info:
        code = "def leak():\n    raise RuntimeError('secret ' * 10000)\nleak()\n"
        run_task("inspect", pickle.dumps(_Reduce(exec, code)), "pickle", limits=LIMITS)
    error = info.value.to_dict()
    assert error["message"].startswith("The model raised RuntimeError: secret") and len(error["message"]) < 400
    assert error["details"]["type"] == "RuntimeError" and error["details"]["frames"][-1].endswith("in leak")
    assert "raise RuntimeError" not in json.dumps(error)  # frames carry no source lines
