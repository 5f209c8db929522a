"""The warm sandbox worker: imports the numeric stack once, then forks one hardened child per task.

Protocol on a private Unix socket, one connection per task: the client sends one JSON line
``{"workdir", "env"}`` with two file descriptors attached (the write ends of its result and stderr pipes);
the zygote forks; the child makes its own process group, puts the connection on its stdout, the pipes on
``RESULT_FD`` and stderr, writes the task's progress lines and its result, and exits; the zygote reaps it,
writes ``{"zygote_exit": status}`` and closes its end. The client reads to EOF, so a child cannot end the
exchange early by forging that line; the client shuts its side down to have the child killed. Run as root,
the zygote serves from a PID namespace of its own. It exits when its stdin (a pipe from the process that
started it) closes, or when that process is gone although the pipe is still open (a fork of it, such as a
gunicorn or Celery child, may hold the write end). It leaves with ``os._exit``: a fork of a multi-threaded
interpreter must not run the C++ exit handlers of the libraries it preloaded (onnxruntime's wait forever on a
condition variable of a thread that did not survive the fork), and it removes its private directory.
"""
from __future__ import annotations

import importlib
import json
import os
import pkgutil
import select
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from modelwatch.core.sandbox.channels import EXIT_OUT_OF_MEMORY, RESULT_FD

CLONE_NEWPID = 0x20000000
_PID_NAMESPACE = False
PRELOAD = ("numpy", "pandas", "scipy.sparse", "sklearn", "shap", "xgboost", "lightgbm", "onnxruntime", "skops.io",
           "modelwatch.core.intake", "modelwatch.core.model.introspect", "modelwatch.core.suite",
           "modelwatch.core.sandbox.seccomp", "modelwatch.core.sandbox.landlock", "modelwatch.core.sandbox.privileges",
           "modelwatch.core.sandbox.child")


def preload() -> None:
    """Import everything a task can use, so that a child starts warm and, once it has dropped root, needs to
    read nothing more of the interpreter (which may live in a home directory only root can enter)."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # an optional library missing only costs the child an import
            pass
    import modelwatch.core

    for module in pkgutil.walk_packages(modelwatch.core.__path__, "modelwatch.core."):
        if not module.name.endswith(("build_allowlist", "__main__")):
            importlib.import_module(module.name)
    import encodings

    for module in pkgutil.iter_modules(encodings.__path__, "encodings."):
        try:  # CSV files and pickle's text opcodes may name any codec
            importlib.import_module(module.name)
        except ImportError:  # codecs of another platform (mbcs, oem...)
            pass
    from modelwatch.core.intake.allowlist import allowlist_info, load_allowlist
    from modelwatch.core.sandbox.seccomp import available

    allowlist_info()
    available()  # loads libseccomp before any child needs it
    for module in sorted({m for m, _ in load_allowlist()}):
        try:
            importlib.import_module(module)
        except Exception:
            pass
    _exercise()


def compile_ahead(explain: bool = True) -> None:
    """In the warm worker: compile the numba code runs use once (``core.warm``), so that every child forks with it
    compiled; ``explain`` adds the explanations' (tens of seconds on a busy machine). A cold start leaves it to
    the task, which compiles what it calls, in memory."""
    try:
        from modelwatch.core.warm import warm_up

        warm_up(explain)
    except Exception:  # the children compile on first use instead
        pass


def _exercise() -> None:
    """Run the paths that import lazily on first use (narwhals' plugin discovery behind sklearn's feature
    names, pandas' CSV reader and ``to_dict``) once here."""
    import io

    import pandas as pd
    from sklearn.tree import DecisionTreeClassifier

    frame = pd.read_csv(io.BytesIO("\ufeffa,b\n0,1\n1,0\n".encode()), encoding="utf-8-sig")
    DecisionTreeClassifier().fit(frame, [0, 1]).predict(frame)
    frame.to_dict(orient="records")


def _child(conn: socket.socket, request: dict[str, Any], fds: list[int], keep_closed: list[Any]) -> None:
    """In the forked child: become a fresh, isolated process and run the task. Never returns."""
    code = 70
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for thing in keep_closed:
            try:
                thing.close() if hasattr(thing, "close") else os.close(thing)
            except OSError:
                pass
        os.setsid()
        root = Path(request["workdir"])
        result_fd, stderr_fd = fds
        os.dup2(conn.fileno(), 1)
        conn.close()
        os.dup2(result_fd, RESULT_FD)
        os.dup2(stderr_fd, 2)
        for fd in {result_fd, stderr_fd} - {1, 2, RESULT_FD}:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(root)
        os.environ.clear()
        os.environ.update(request.get("env") or {})
        from modelwatch.core.sandbox.child import main

        main(root, mode="zygote", pid_namespace=_PID_NAMESPACE)
        code = 0
    except MemoryError:
        code = EXIT_OUT_OF_MEMORY  # the limit left no room even for the result
    except BaseException:  # anything here is reported by the exit status
        code = 71
    finally:
        try:
            sys.stdout.flush()
        finally:
            os._exit(code)


def _enter_pid_namespace(parent: int, socket_path: Path) -> bool:
    """Put the children in a PID namespace of their own (root only): no other process is even addressable.

    The calling process forks; the fork becomes the namespace's init and goes on serving, and the caller
    only waits for it (it is what the parent started and kills), killing it when ``parent`` is gone. False
    where the kernel refuses.
    """
    if os.geteuid() != 0:
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWPID) != 0:
        return False
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG: die with the process the parent started
        return True
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGKILL))
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        if os.getppid() != parent:
            os.kill(pid, signal.SIGKILL)
            _leave(socket_path)
        time.sleep(0.5)


def _leave(socket_path: Path) -> None:
    """Exit now, without the interpreter's or the libraries' exit handlers, leaving no directory behind."""
    if socket_path.parent.name.startswith("modelwatch-zygote-"):  # ``sandbox`` made it for this worker alone
        shutil.rmtree(socket_path.parent, ignore_errors=True)
    os._exit(0)


def serve(socket_path: Path, parent: int) -> None:
    """Listen on ``socket_path``, print ``ready`` and fork a child per connection until stdin closes or the
    process ``parent`` is gone; never returns.

    Every module is imported already (``preload`` ran in ``sandbox.child``'s entry point).
    """
    global _PID_NAMESPACE
    import gc

    _PID_NAMESPACE = _enter_pid_namespace(parent, socket_path)
    gc.collect()
    gc.freeze()  # the preloaded heap is never scanned by a child's collector: fewer copy-on-write pages
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    running: dict[int, socket.socket] = {}
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    while True:
        watched = {conn: pid for pid, conn in running.items() if conn.fileno() >= 0}
        readable, _, _ = select.select([listener, wake_r, sys.stdin, *watched], [], [], 1.0)
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
            break  # the process that started us is gone
        if not _PID_NAMESPACE and os.getppid() != parent:
            break  # so is it, though a fork of it still holds the pipe (in a namespace, our parent watches)
        if wake_r in readable:
            try:
                while os.read(wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        for conn in set(readable) & set(watched):
            _kill(watched[conn])  # the parent hung up or gave up: the child stops now
        _reap(running)
        if listener in readable:
            _accept(listener, running, [listener, wake_r, wake_w])
    for pid in running:
        _kill(pid)
    _leave(socket_path)


def _kill(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _accept(listener: socket.socket, running: dict[int, socket.socket], own: list[Any]) -> None:
    conn, _ = listener.accept()
    fds: list[int] = []
    try:
        conn.settimeout(5.0)
        line = b""
        while not line.endswith(b"\n") and len(line) < 1 << 20:
            chunk, received, _, _ = socket.recv_fds(conn, 65536, 2)
            fds += received
            if not chunk:
                break
            line += chunk
        request = json.loads(line)
        if len(fds) != 2:
            raise ValueError("a request carries the result and stderr pipes")
        conn.settimeout(None)
        sys.stdout.flush()
        pid = os.fork()
    except (OSError, ValueError):
        conn.close()
        for fd in fds:
            os.close(fd)
        return
    if pid == 0:
        _child(conn, request, fds, [*own, *running.values()])
    for fd in fds:
        os.close(fd)
    running[pid] = conn


def _reap(running: dict[int, socket.socket]) -> None:
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = running.pop(pid, None)
        if conn is None:
            continue
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        try:
            conn.sendall(b"\n" + json.dumps({"zygote_exit": code}).encode() + b"\n")
        except OSError:
            pass
        conn.close()
