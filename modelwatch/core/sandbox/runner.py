"""Run a task on an untrusted model in an isolated subprocess: JSON in, JSON out, progress on stdout.

The model object never exists in the calling process. The child gets a clean environment, a private
temporary directory as its working directory, an unprivileged uid with no capabilities, resource limits,
Landlock, an allow-list seccomp filter, a PID namespace where the kernel allows it, and a wall-clock
timeout. Its progress, result and stderr come back over pipes opened before it existed (``sandbox.channels``):
this process never opens a file the child could have planted. A warm worker (``sandbox.zygote``) forks
children with the numeric stack already imported; when it is missing or dead a task falls back to a cold
``python -m modelwatch.core.sandbox.child`` and the worker is restarted.
"""
from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelwatch.core.sandbox import landlock
from modelwatch.core.sandbox.channels import Collected, collect, decode_result, exit_error
from modelwatch.core.sandbox.numba_cache import private_dir
from modelwatch.core.sandbox.privileges import Identity, SandboxUnavailable, resolve_identity
from modelwatch.errors import ModelError, ResourceLimit, RunTimeout, ServiceUnavailable, from_dict

# on_progress(stage, fraction) or on_progress(stage, fraction, extra) when the line carries more keys
ProgressFn = Callable[..., None]
DEFAULT_USER = "modelwatch-sandbox"
START_WAIT_S = 300  # the warm worker's first start (imports, numba compilation); not charged to any task
PACKAGE_ROOT = Path(__file__).resolve().parents[3]
# Variables that change how numeric libraries behave on this hardware; everything else is dropped. The app reads
# them from its environment and hands them to ``configure``: core never reads the environment itself.
PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL", "MODELWATCH_SANDBOX_WARM_EXPLAIN")


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed task."""

    timeout_s: float = 300.0
    memory_mb: int = 2048
    max_file_mb: int = 512
    max_open_files: int = 256
    max_result_mb: int = 16  # the result (JSON and arrays) the child may send back; more is refused
    trusted: bool = False  # the operator's switch: load without the allowlist (still sandboxed; the Run says so)


def _clean_env(workdir: str) -> dict[str, str]:
    env = dict(_PASSED)
    env.update({
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "PYTHONPATH": str(PACKAGE_ROOT),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": workdir,
        "NUMBA_CACHE_DIR": workdir,
        "JOBLIB_MULTIPROCESSING": "0",  # no worker processes: the sandbox forbids them anyway
        "MALLOC_ARENA_MAX": "2",  # glibc reserves 64 MB of address space per thread arena otherwise (RLIMIT_AS)
    })
    return env


class _Zygote:
    """The warm worker of this process: started lazily, restarted when it dies, safe across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.owner_pid = 0
        self.dir: str | None = None
        self.ready = threading.Event()
        self.settled = threading.Event()  # ready, or failed to start

    @property
    def socket_path(self) -> str:
        return os.path.join(self.dir or "", "zygote.sock")

    def alive(self) -> bool:
        return (self.proc is not None and self.owner_pid == os.getpid() and self.proc.poll() is None
                and self.ready.is_set())

    def start(self, wait: bool) -> None:
        """Start the worker unless one is running or starting; ``wait`` blocks until it is ready."""
        with self.lock:
            starting = self.proc is not None and self.owner_pid == os.getpid() and self.proc.poll() is None
            if not starting:
                self._spawn()
        if wait:
            self.settled.wait(timeout=START_WAIT_S)

    def _spawn(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="modelwatch-zygote-")
        os.chmod(self.dir, 0o700)
        self.ready, self.settled = threading.Event(), threading.Event()
        self.owner_pid = os.getpid()
        # the worker's stderr stays in its private directory for diagnosis
        stderr = os.open(os.path.join(self.dir, "stderr.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        env = _clean_env(self.dir)
        env["NUMBA_CACHE_DIR"] = shared_numba_cache() or self.dir
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-s", "-P", "-m", "modelwatch.core.sandbox.child", "--zygote", self.socket_path,
                 str(self.owner_pid)],
                cwd=self.dir, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=stderr, start_new_session=True, close_fds=True,
            )
        finally:
            os.close(stderr)
        threading.Thread(target=self._await_ready, args=(self.proc, self.ready, self.settled), daemon=True).start()

    @staticmethod
    def _await_ready(proc: subprocess.Popen, ready: threading.Event, settled: threading.Event) -> None:
        try:
            line = proc.stdout.readline() if proc.stdout else b""
            if line.strip() == b"ready":
                ready.set()
        finally:
            settled.set()

    def stop(self) -> None:
        with self.lock:
            proc, self.proc = self.proc, None
            if proc is not None and self.owner_pid == os.getpid():
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                proc.wait()
                for stream in (proc.stdin, proc.stdout):
                    if stream:
                        stream.close()
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def connect(self, request: dict[str, Any], fds: list[int]) -> socket.socket | None:
        """A connection carrying the request and ``fds``, or None when the worker is not usable."""
        if not self.alive():
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(5.0)
            sock.connect(self.socket_path)
            data = json.dumps(request).encode() + b"\n"
            sent = socket.send_fds(sock, [data], fds)
            sock.sendall(data[sent:])
            sock.settimeout(None)
            return sock
        except OSError:
            sock.close()
            return None


_ZYGOTE = _Zygote()
atexit.register(_ZYGOTE.stop)


def warm_up(wait: bool = False) -> None:
    """Start the warm worker now (services may call it at start-up); ``wait`` blocks until it is ready."""
    _ZYGOTE.start(wait=wait)


def shutdown_worker() -> None:
    """Stop the warm worker; the next task starts a new one."""
    _ZYGOTE.stop()


def worker_pid() -> int | None:
    """The warm worker's process id while it runs (for tests and diagnostics)."""
    return _ZYGOTE.proc.pid if _ZYGOTE.alive() and _ZYGOTE.proc else None


def _kill_group(pid: int | None) -> None:
    if pid:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


class _Pipes:
    """The result and stderr pipes of one child, made before it exists; the parent keeps the read ends."""

    def __init__(self) -> None:
        self.result_r, self.result_w = os.pipe()
        self.stderr_r, self.stderr_w = os.pipe()

    def close_child_ends(self) -> None:
        for fd in (self.result_w, self.stderr_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.result_w = self.stderr_w = -1

    def close(self) -> None:
        self.close_child_ends()
        for fd in (self.result_r, self.stderr_r):
            os.close(fd)


def _run_in_zygote(root: Path, limits: Limits, on_progress: ProgressFn | None, deadline: float,
                   cancel: threading.Event | None, pipes: _Pipes) -> Collected | None:
    sock = _ZYGOTE.connect({"workdir": str(root), "env": _clean_env(str(root))}, [pipes.result_w, pipes.stderr_w])
    if sock is None:
        return None  # the pipes go to a cold start instead
    pipes.close_child_ends()  # the child has its own copies now
    try:
        collected = collect(sock.fileno(), pipes.result_r, pipes.stderr_r, deadline, limits.max_result_mb << 20,
                            on_progress, cancel)
        if not collected.finished:
            sock.shutdown(socket.SHUT_WR)  # the zygote kills the child when its side of the connection ends
            _drain(sock, time.monotonic() + 2.0)  # and reaps it: no zombie is left behind
    except BaseException:  # on_progress raised (the caller gave up): the child must not outlive the call
        sock.close()
        raise
    sock.close()
    return collected  # returncode None: the worker died under the child; the result decides


def _drain(sock: socket.socket, deadline: float) -> None:
    sock.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            if not sock.recv(65536):
                return
        except TimeoutError:
            continue
        except OSError:
            return


def _run_cold(root: Path, limits: Limits, on_progress: ProgressFn | None, deadline: float,
              cancel: threading.Event | None, pipes: _Pipes) -> Collected:
    proc = subprocess.Popen(
        [sys.executable, "-s", "-P", "-m", "modelwatch.core.sandbox.child", str(root), str(pipes.result_w)],
        cwd=root, env=_clean_env(str(root)), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=pipes.stderr_w, pass_fds=(pipes.result_w,), start_new_session=True, close_fds=True,
    )
    pipes.close_child_ends()
    try:
        collected = collect(proc.stdout.fileno(), pipes.result_r, pipes.stderr_r, deadline,
                            limits.max_result_mb << 20, on_progress, cancel)
        if collected.finished:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
    except subprocess.TimeoutExpired:
        collected.finished = False
    finally:
        if proc.poll() is None:
            _kill_group(proc.pid)
            proc.wait()
        proc.stdout.close()
    collected.returncode = proc.returncode
    return collected


def configure(user: str = DEFAULT_USER, allow_insecure: bool = False, warm: bool = True,
              passed_env: Mapping[str, str] | None = None, numba_cache: str | None = None) -> Identity:
    """Set who the children run as (the operator's settings, at start-up); fails closed where it cannot drop root.

    ``warm=False`` starts a fresh interpreter per task instead of forking the warm worker (the operator's switch);
    ``passed_env`` (names of ``PASSED_ENV`` only) reaches the children; ``numba_cache`` is the directory where
    warm workers keep their compiled code between starts ("" for none: each compiles again); None keeps what was
    configured before, for both.

    Raises:
        SandboxUnavailable: this process is root, ``user`` does not exist and ``allow_insecure`` is off.
    """
    global _IDENTITY, _WARM, _PASSED, _NUMBA_CACHE
    _IDENTITY, _WARM = resolve_identity(user, allow_insecure), warm
    if passed_env is not None:
        _PASSED = {k: v for k, v in passed_env.items() if k in PASSED_ENV}
    if numba_cache is not None:
        _NUMBA_CACHE = numba_cache
    return _IDENTITY


def shared_numba_cache() -> str | None:
    """The configured numba cache a new warm worker uses: None unless it is set, private (``sandbox.numba_cache``)
    and out of every child's reach (children become another uid, or Landlock keeps their writes in their own
    directory)."""
    confined = (_IDENTITY is not None and _IDENTITY.uid is not None) or landlock.abi_version() > 0
    return private_dir(_NUMBA_CACHE) if _NUMBA_CACHE and confined else None


def _identity() -> Identity:
    try:
        return _IDENTITY or configure()
    except SandboxUnavailable as exc:
        raise ServiceUnavailable(str(exc), {"sandbox": "no unprivileged user"}) from None


_IDENTITY: Identity | None = None
_WARM = True
_PASSED: dict[str, str] = {}
_NUMBA_CACHE = ""


def _prepare(task: str, model_bytes: bytes, fmt: str, payload: dict[str, Any] | None,
             files: dict[str, bytes] | None, limits: Limits, identity: Identity) -> Path:
    """The child's private directory: the model, the job and the extra files, owned by the sandbox user."""
    root = Path(tempfile.mkdtemp(prefix="modelwatch-sandbox-"))
    os.chmod(root, 0o700)
    (root / "model.bin").write_bytes(model_bytes)
    for name, data in (files or {}).items():
        (root / Path(name).name).write_bytes(data)
    job = {"task": task, "format": fmt, "payload": payload or {}, "limits": limits.__dict__,
           "identity": identity.__dict__}
    (root / "job.json").write_text(json.dumps(job))
    if identity.uid is not None and identity.gid is not None:
        os.chown(root, identity.uid, identity.gid)  # the files stay ours (0644): the child reads, never rewrites
    return root


def run_task(
    task: str,
    model_bytes: bytes,
    fmt: str,
    payload: dict[str, Any] | None = None,
    files: dict[str, bytes] | None = None,
    limits: Limits = Limits(),
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Any]:
    """Run ``task`` on the model in a sandboxed child and return its JSON result.

    Safe to call from several threads at once: each call has its own directory, pipes and child. The
    deadline starts when the task does: waiting for the warm worker's first start is not charged to it.

    Args:
        task: a task name known to ``sandbox.child`` (``inspect``, ``suite``, ``predict``).
        model_bytes: the model file, untouched.
        fmt: its format from ``formats.sniff_format``.
        payload: JSON-able arguments of the task.
        files: extra files for the child (``sample.csv``, ``X.npy``...), written into its private directory.
        limits: resource, time and result-size limits.
        on_progress: called with (stage, fraction) for each progress line of the child, and with a third
            argument, a small dict, when the line carries more keys (``section``, ``headline``).
        cancel: when set (from any thread), the child is killed within 0.2 s.

    Returns:
        The task's result; ``result["arrays"]`` (when present) maps names to numpy arrays of plain dtypes
        (``channels.decode_result``: never unpickled).

    Raises:
        RunTimeout: the wall clock ran out or ``cancel`` was set; the child was killed.
        ResourceLimit: a resource limit stopped the child, or its result was over ``limits.max_result_mb``.
        ModelCrashed: the child died of a signal of its own (segmentation fault, abort...).
        ModelError: the child's result was malformed, or it ended without one.
        ServiceUnavailable: the sandbox cannot drop root here (no sandbox user).
        ModelwatchError: the typed error the child reported.
    """
    identity = _identity()
    warm = _WARM
    if warm and not _ZYGOTE.alive():
        # (re)start the worker and wait for it; a cold start only where it cannot start at all
        _ZYGOTE.start(wait=True)
    root = _prepare(task, model_bytes, fmt, payload, files, limits, identity)
    pipes = _Pipes()
    try:
        deadline = time.monotonic() + limits.timeout_s
        collected = _run_in_zygote(root, limits, on_progress, deadline, cancel, pipes) if warm else None
        collected = collected or _run_cold(root, limits, on_progress, deadline, cancel, pipes)
    finally:
        pipes.close()
        shutil.rmtree(root, ignore_errors=True)
    if collected.cancelled:
        raise RunTimeout("The run was cancelled; the sandbox was stopped.", {"cancelled": True})
    if collected.oversized:
        raise ResourceLimit(f"The model's result is larger than {limits.max_result_mb} MB; nothing was kept.",
                            {"max_result_mb": limits.max_result_mb})
    if not collected.finished:
        raise RunTimeout(f"The model did not finish within {limits.timeout_s:g} s; the sandbox was stopped.",
                         {"timeout_s": limits.timeout_s})
    return _outcome(collected, limits)


def _outcome(collected: Collected, limits: Limits) -> dict[str, Any]:
    """The result the child sent, or the typed error its exit status means."""
    returncode = collected.returncode if collected.returncode is not None else 70  # the worker itself ended
    stderr = collected.stderr.decode(errors="replace")[-600:].strip()
    if collected.result:
        try:
            result = decode_result(collected.result)
        except ModelError:
            if returncode >= 0:
                raise
        else:
            if "error" in result:
                raise from_dict(result["error"])
            return result
    # C++ code that cannot allocate aborts with bad_alloc
    out_of_memory = "MemoryError" in stderr or "std::bad_alloc" in stderr
    raise exit_error(returncode, limits.memory_mb, {"exit_code": returncode, "stderr": stderr}, out_of_memory)
