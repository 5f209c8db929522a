"""Run a task on an untrusted model in an isolated subprocess: JSON in, JSON out, progress on stdout.

The model object never exists in the calling process. The child gets a clean environment, a private
temporary directory as its working directory, resource limits, seccomp (no network, no new processes)
where libseccomp exists, and a wall-clock timeout that kills its whole process group. A warm worker
(``sandbox_zygote``) forks children with the numeric stack already imported; when it is missing or dead
a task falls back to a cold ``python -m modelwatch.core.sandbox_child`` and the worker is restarted.
"""
from __future__ import annotations

import atexit
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelwatch.errors import ModelError, ResourceLimit, RunTimeout, from_dict

ProgressFn = Callable[..., None]  # (stage, fraction) or (stage, fraction, extra)
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# Variables that change how numeric libraries behave on this hardware; everything else is dropped.
PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL", "MODELWATCH_TRUST_PICKLES",
              "MODELWATCH_SANDBOX_WARM_EXPLAIN")
MAX_RESULT_ARRAY_BYTES = 256 * 1024 * 1024
MAX_PROGRESS_LINE_BYTES = 4096  # a progress line's extra keys (a section's headline) reach on_progress up to this


def _default_memory_mb() -> int:
    return int(os.environ.get("MODELWATCH_SANDBOX_MEMORY_MB", "2048"))


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed task."""

    timeout_s: float = 300.0
    memory_mb: int = field(default_factory=_default_memory_mb)
    max_file_mb: int = 512
    max_open_files: int = 256


def _clean_env(workdir: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
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


class _Exchange:
    """What came back from one child: its pid, exit code and whether the deadline passed."""

    def __init__(self) -> None:
        self.pid: int | None = None
        self.returncode: int | None = None
        self.finished = False
        self.cancelled = False


def _relay(line: bytes, on_progress: ProgressFn | None, exchange: _Exchange) -> None:
    try:
        message = json.loads(line)
    except ValueError:
        return  # the model printed something of its own; it is not a progress line
    if not isinstance(message, dict):
        return
    if "pid" in message and exchange.pid is None and isinstance(message["pid"], int):
        exchange.pid = message["pid"]
    elif "zygote_exit" in message and isinstance(message["zygote_exit"], int):
        exchange.returncode = message["zygote_exit"]
    elif "stage" in message and "progress" in message and on_progress:
        extra = {k: v for k, v in message.items() if k not in ("stage", "progress")}
        try:
            if extra and len(line) <= MAX_PROGRESS_LINE_BYTES:  # e.g. a finished section's headline
                on_progress(str(message["stage"]), float(message["progress"]), extra)
            else:
                on_progress(str(message["stage"]), float(message["progress"]))
        except (TypeError, ValueError):
            pass


def _pump(fd: int, deadline: float, on_progress: ProgressFn | None, exchange: _Exchange,
          cancel: threading.Event | None = None) -> bool:
    """Relay lines from ``fd`` until EOF; False when the deadline passed or ``cancel`` was set first."""
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    buffer = b""
    try:
        while True:
            remaining = deadline - time.monotonic()
            if cancel is not None and cancel.is_set():
                exchange.cancelled = True
                return False
            if remaining <= 0:
                return False
            if not selector.select(timeout=min(remaining, 0.2)):
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                if buffer:
                    _relay(buffer, on_progress, exchange)
                return True
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                _relay(line, on_progress, exchange)
            buffer = buffer[-(1 << 20):]
    finally:
        selector.close()


class _Zygote:
    """The warm worker of this process: started lazily, restarted when it dies, safe across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.proc: subprocess.Popen | None = None
        self.owner_pid = 0
        self.dir: str | None = None
        self.ready = threading.Event()
        self.settled = threading.Event()  # ready, or failed to start
        self.starts = 0

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
            self.settled.wait(timeout=120)

    def _spawn(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="modelwatch-zygote-")
        os.chmod(self.dir, 0o700)
        self.ready, self.settled = threading.Event(), threading.Event()
        self.owner_pid = os.getpid()
        self.starts += 1
        # the worker's stderr stays in its private directory for diagnosis
        stderr = os.open(os.path.join(self.dir, "stderr.txt"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-s", "-P", "-m", "modelwatch.core.sandbox_child", "--zygote", self.socket_path],
                cwd=self.dir, env=_clean_env(self.dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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

    def connect(self, request: dict[str, Any]) -> socket.socket | None:
        """A connection carrying the request, or None when the worker is not usable."""
        if not self.alive():
            return None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(5.0)
            sock.connect(self.socket_path)
            sock.sendall(json.dumps(request).encode() + b"\n")
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


def _run_in_zygote(root: Path, limits: Limits, on_progress: ProgressFn | None, deadline: float,
                   cancel: threading.Event | None) -> _Exchange | None:
    sock = _ZYGOTE.connect({"workdir": str(root), "env": _clean_env(str(root)), "limits": limits.__dict__})
    if sock is None:
        return None
    exchange = _Exchange()
    try:
        exchange.finished = _pump(sock.fileno(), deadline, on_progress, exchange, cancel)
    except BaseException:  # on_progress raised (the caller gave up): the child must not outlive the call
        _kill_group(exchange.pid)
        sock.close()
        raise
    try:
        if not exchange.finished:
            _kill_group(exchange.pid)
            # let the zygote reap it so that no zombie is left behind; a bounded wait
            _pump(sock.fileno(), time.monotonic() + 2.0, None, _Exchange())
    finally:
        sock.close()
    if exchange.finished and exchange.returncode is None:
        exchange.returncode = -1  # the worker died under the child; the result file decides
    return exchange


def _run_cold(root: Path, limits: Limits, on_progress: ProgressFn | None, deadline: float,
              cancel: threading.Event | None) -> _Exchange:
    exchange = _Exchange()
    with open(root / "stderr.txt", "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-s", "-P", "-m", "modelwatch.core.sandbox_child", str(root)],
            cwd=root, env=_clean_env(str(root)), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=stderr, start_new_session=True, close_fds=True,
        )
        exchange.pid = proc.pid
        try:
            exchange.finished = _pump(proc.stdout.fileno(), deadline, on_progress, exchange, cancel)
            if exchange.finished:
                proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            exchange.finished = False
        finally:
            if proc.poll() is None:
                _kill_group(proc.pid)
                proc.wait()
            proc.stdout.close()
    exchange.returncode = proc.returncode
    return exchange


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

    Safe to call from several threads at once: each call has its own directory and child.

    Args:
        task: a task name known to ``sandbox_child`` (``inspect``, ``suite``, ``predict``).
        model_bytes: the model file, untouched.
        fmt: its format from ``formats.sniff_format``.
        payload: JSON-able arguments of the task.
        files: extra files for the child (``sample.csv``, ``X.npy``...), written into its private directory.
        limits: resource and time limits.
        on_progress: called with (stage, fraction) for each progress line of the child.
        cancel: when set (from any thread), the child's process group is killed within 0.2 s.

    Returns:
        The task's result; ``result["arrays"]`` (when present) maps names to numpy arrays read with
        ``allow_pickle=False``.

    Raises:
        RunTimeout: the wall clock ran out or ``cancel`` was set; the child's process group was killed.
        ResourceLimit: the child was killed by a resource limit.
        ModelwatchError: the typed error the child reported.
    """
    deadline = time.monotonic() + limits.timeout_s
    workdir = tempfile.mkdtemp(prefix="modelwatch-sandbox-")
    try:
        os.chmod(workdir, 0o700)
        root = Path(workdir)
        (root / "model.bin").write_bytes(model_bytes)
        for name, data in (files or {}).items():
            (root / Path(name).name).write_bytes(data)
        job = {"task": task, "format": fmt, "payload": payload or {}, "limits": limits.__dict__}
        (root / "job.json").write_text(json.dumps(job))
        exchange = None
        if os.environ.get("MODELWATCH_SANDBOX_WARM", "1") != "0":  # operator switch: 0 = always a cold start
            if not _ZYGOTE.alive():
                # first use waits for the worker; a worker that died is restarted while this task runs cold
                _ZYGOTE.start(wait=_ZYGOTE.starts == 0)
            exchange = _run_in_zygote(root, limits, on_progress, deadline, cancel)
        exchange = exchange or _run_cold(root, limits, on_progress, deadline, cancel)
        if exchange.cancelled:
            raise RunTimeout("The run was cancelled; the sandbox was stopped.", {"cancelled": True})
        if not exchange.finished:
            raise RunTimeout(f"The model did not finish within {limits.timeout_s:g} s; the sandbox was stopped.",
                             {"timeout_s": limits.timeout_s})
        return _read_result(root, exchange.returncode or 0, _stderr_tail(root / "stderr.txt"), limits)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _stderr_tail(path: Path, chars: int = 600) -> str:
    try:
        return path.read_text(errors="replace")[-chars:].strip()
    except OSError:
        return ""


def _read_result(root: Path, returncode: int, stderr: str, limits: Limits) -> dict[str, Any]:
    result_path = root / "result.json"
    if result_path.exists():
        try:
            result = json.loads(result_path.read_text())
        except ValueError:
            result = {"error": {"code": "model_error", "message": "The sandbox wrote an unreadable result."}}
        if not isinstance(result, dict):
            raise ModelError("The sandbox wrote a result that is not an object.")
        if "error" in result:
            raise from_dict(result["error"] if isinstance(result["error"], dict) else {})
        if isinstance(result.get("arrays"), dict):
            result["arrays"] = _read_arrays(root, result["arrays"])
        return result
    out_of_memory = returncode == 75 or "MemoryError" in stderr  # 75: sandbox_child.EXIT_OUT_OF_MEMORY
    if returncode in (-signal.SIGKILL, -signal.SIGXCPU, -signal.SIGSEGV, -signal.SIGBUS) or out_of_memory:
        raise ResourceLimit(
            f"The model was stopped by the sandbox's limits (exit {returncode}); "
            f"memory is capped at {limits.memory_mb} MB.",
            {"exit_code": returncode, "stderr": stderr},
        )
    raise ModelError(f"The sandboxed process ended without a result (exit {returncode}).",
                     {"exit_code": returncode, "stderr": stderr})


def _read_arrays(root: Path, names: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    arrays = {}
    for key, name in names.items():
        path = root / Path(str(name)).name
        if path.suffix != ".npy" or not path.is_file() or path.stat().st_size > MAX_RESULT_ARRAY_BYTES:
            raise ModelError(f"The sandbox returned an unreadable array {name!r}.")
        arrays[str(key)] = np.load(path, allow_pickle=False)
    return arrays
