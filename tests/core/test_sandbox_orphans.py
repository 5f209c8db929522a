"""The warm sandbox worker never outlives the process that started it, even killed with SIGKILL.

It used to: its namespace's init ran the interpreter's exit handlers after the fork and hung in onnxruntime's,
and a fork of the host (a gunicorn or Celery child) kept its stdin pipe open, so it never saw end-of-file.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# A process hosting a warm worker; with "fork" it also forks a child that inherits the worker's stdin pipe.
HOST = """
import os, sys, time
from modelwatch.core.sandbox import runner as sandbox
sandbox.configure(allow_insecure=True, passed_env={"MODELWATCH_SANDBOX_WARM_EXPLAIN": "0"})
sandbox.warm_up(wait=True)
holder = os.fork() if sys.argv[1] == "fork" else 0
if holder == 0 and sys.argv[1] == "fork":
    time.sleep(300)
    os._exit(0)
print(sandbox.worker_pid(), holder, flush=True)
time.sleep(300)
"""


def worker_processes(socket_path: str) -> list[int]:
    """Every process (the worker and its namespace's init) whose command line names the worker's socket."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and socket_path in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:  # the process ended while we looked
            pass
    return found


@pytest.mark.parametrize("holder", ["none", "fork"])
def test_the_warm_worker_exits_when_its_host_is_killed(holder):
    host = subprocess.Popen([sys.executable, "-c", HOST, holder], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    forked = 0
    try:
        line = host.stdout.readline().split()
        assert line, "the host did not start its warm worker"
        worker, forked = int(line[0]), int(line[1])
        argv = (Path("/proc") / str(worker) / "cmdline").read_bytes().decode().split("\0")
        socket_path = next(arg for arg in argv if arg.endswith("zygote.sock"))
        assert worker_processes(socket_path)
        host.kill()
        host.wait(timeout=30)
        deadline = time.monotonic() + 120  # the worker polls once a second; generous for a loaded machine
        while worker_processes(socket_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not worker_processes(socket_path), "the warm worker outlived its host"
        assert not Path(socket_path).parent.exists(), "the warm worker's directory was left behind"
        if forked:
            assert Path(f"/proc/{forked}").exists()  # the pipe was still open: the parent check did it
    finally:
        if host.poll() is None:
            host.kill()
            host.wait()
        if forked:
            os.kill(forked, signal.SIGKILL)
