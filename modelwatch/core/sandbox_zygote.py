"""The warm sandbox worker: imports the numeric stack once, then forks one hardened child per task.

Protocol on a private Unix socket, one connection per task: the client sends one JSON line
``{"workdir", "env", "limits"}``; the zygote forks; the child makes its own process group, puts the
connection on its stdout, writes ``{"pid": N}``, then the task's progress lines, and exits; the zygote
reaps it, writes ``{"zygote_exit": status}`` and closes its end. The client reads to EOF, so a child
cannot end the exchange early by forging that line. The zygote exits when its stdin (a pipe from the
process that started it) closes.
"""
from __future__ import annotations

import importlib
import json
import os
import select
import signal
import socket
import sys
from pathlib import Path
from typing import Any

PRELOAD = ("numpy", "pandas", "scipy.sparse", "sklearn", "shap", "xgboost", "lightgbm", "skops.io",
           "modelwatch.core.intake", "modelwatch.core.introspect", "modelwatch.core.suite", "modelwatch.core.seccomp",
           "modelwatch.core.landlock")


def preload() -> None:
    """Import the libraries and every module the allowlist names, so that a child starts warm."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # an optional library missing only costs the child an import
            pass
    import codecs

    for encoding in ("raw_unicode_escape", "latin_1", "ascii", "utf_8", "unicode_escape"):
        codecs.lookup(encoding)  # pickle's text opcodes need these codecs
    from modelwatch.core.intake.allowlist import allowlist_info, load_allowlist
    from modelwatch.core.seccomp import available

    allowlist_info()

    available()  # loads libseccomp before any child needs it
    for module in sorted({m for m, _ in load_allowlist()}):
        try:
            importlib.import_module(module)
        except Exception:
            pass
    if os.environ.get("MODELWATCH_SANDBOX_WARM_EXPLAIN", "1") != "0":
        try:  # compile the explanations' numba code once here rather than in every child
            from modelwatch.core.explain.warm import warm_up

            warm_up()
        except Exception:  # the children compile on first use instead
            pass


def _child(conn: socket.socket, request: dict[str, Any], keep_closed: list[Any]) -> None:
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
        os.dup2(conn.fileno(), 1)
        conn.close()
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        err = os.open(root / "stderr.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(err, 2)
        os.close(err)
        os.chdir(root)
        os.environ.clear()
        os.environ.update(request.get("env") or {})
        sys.stdout.write(json.dumps({"pid": os.getpid()}) + "\n")
        sys.stdout.flush()
        from modelwatch.core.sandbox_child import main

        main(root, mode="zygote")
        code = 0
    except MemoryError:
        code = 75  # sandbox_child.EXIT_OUT_OF_MEMORY: the limit left no room even for the result
    except BaseException:  # anything here is reported by the exit status; the parent reads result.json
        code = 71
    finally:
        try:
            sys.stdout.flush()
        finally:
            os._exit(code)


def serve(socket_path: Path) -> None:
    """Preload, listen on ``socket_path``, print ``ready`` and fork a child per connection until stdin closes."""
    preload()
    import gc

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
        readable, _, _ = select.select([listener, wake_r, sys.stdin], [], [], 1.0)
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 4096):
            break  # the process that started us is gone
        if wake_r in readable:
            try:
                while os.read(wake_r, 4096):
                    pass
            except BlockingIOError:
                pass
        _reap(running)
        if listener in readable:
            _accept(listener, running, [listener, wake_r, wake_w])
    for pid in running:
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass


def _accept(listener: socket.socket, running: dict[int, socket.socket], own: list[Any]) -> None:
    conn, _ = listener.accept()
    try:
        conn.settimeout(5.0)
        line = b""
        while not line.endswith(b"\n") and len(line) < 1 << 20:
            chunk = conn.recv(65536)
            if not chunk:
                break
            line += chunk
        request = json.loads(line)
        conn.settimeout(None)
        sys.stdout.flush()
        pid = os.fork()
    except (OSError, ValueError):
        conn.close()
        return
    if pid == 0:
        _child(conn, request, [*own, *running.values()])
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
