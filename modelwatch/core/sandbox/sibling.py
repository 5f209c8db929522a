"""A second sandboxed process beside a suite's child, for the section the GIL would otherwise serialise (drift).

In one process, drift's statistics (thousands of small numpy calls, bound by the GIL) and the explanations share
one interpreter lock after latency, and the phase takes 1.5-2x the longest section alone. The child therefore forks
a sibling as it starts to harden itself, before the rest of ``child.harden`` (Landlock's rules name the process's
own ``/proc/self``; the syscall filter forbids making processes), which the sibling then applies to itself: the
same uid drop, Landlock rules, syscall filter (with its own pid) and resource limits (each process has the whole
memory limit). Neither process runs a byte of the model before it is confined. The sibling loads the model itself
(it never receives a Python object from the child), builds the same context (the data is generated from the same
seed), says ``ready``, and waits; the child tells it to go once the sections that run alone (latency) are done,
with the run's deadline. It computes its section, sends it back as JSON and exits. Drift's scenario groups are
offered on a third pipe that both processes read (``drift.section.Share``): once its own sections are done or
waiting, the child claims groups too and sends their results (JSON, NaN kept) before the sibling assembles the
section. Its stdin, stdout and stderr are /dev/null and it holds none of the parent's pipes: only the child speaks
to the parent. It is in the child's process group (killed with it) and dies with the child (``PR_SET_PDEATHSIG``).
The child may ``wait4`` this one pid (the filter allows no other) to say how a sibling that sent nothing ended: a
crash is reported as a crash, a limit as a limit.
"""
from __future__ import annotations

import json
import os
import select
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from modelwatch.core.sandbox.channels import exit_error
from modelwatch.errors import ModelwatchError, ResourceLimit, RunTimeout, from_dict

READY = b"ready\n"
CLAIM_BYTES = 4
MAX_HELPED_BYTES = 256 << 20


def _read(fd: int, size: int, deadline: float | None, step: str) -> bytes:
    """``os.read``, waiting at most until ``deadline`` (monotonic; None: no limit) for the data.

    Raises:
        RunTimeout: nothing came by the deadline, ``step`` says what the child waited for.
    """
    if deadline is not None and not select.select([fd], [], [], max(deadline - time.monotonic(), 0.0))[0]:
        raise RunTimeout(f"The drift process did not answer by the run's deadline (the child waited for {step}).",
                         {"step": step})
    return os.read(fd, size)


def _read_all(fd: int, limit: int, deadline: float | None = None, step: str = "") -> bytes:
    chunks, size = [], 0
    while size <= limit:
        chunk = _read(fd, 1 << 20, deadline, step)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _plain(value: Any) -> Any:
    """numpy's scalars and arrays as Python's, for ``json.dumps``: NaN and infinities cross as they are."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _claim(fd: int, deadline: float | None = None) -> int | None:
    """The next group index from the claims pipe (4 bytes, written all at once: reads never split one)."""
    data = _read(fd, CLAIM_BYTES, deadline, "its scenario groups")
    return int.from_bytes(data, "little") if len(data) == CLAIM_BYTES else None


class Sibling:
    """The child's side: the sibling's pid, the pipe the child writes to it, the one it reads from it, and the
    claims pipe the sibling offers its scenario groups on (``drift.section.Share``)."""

    def __init__(self, pid: int, to_sibling: int, from_sibling: int, claims: int, memory_mb: int,
                 max_bytes: int) -> None:
        self.pid, self.to_sibling, self.from_sibling, self.claims = pid, to_sibling, from_sibling, claims
        self.memory_mb, self.max_bytes = memory_mb, max_bytes
        self.deadline: float | None = None

    def wait_ready(self, deadline: float) -> bool:
        """Block until the sibling has loaded the model and built its context; False when it ended instead.

        Raises:
            RunTimeout: it was not ready by ``deadline``.
        """
        line = b""
        while not line.endswith(b"\n") and len(line) < len(READY):
            chunk = _read(self.from_sibling, len(READY) - len(line), deadline, "it to load the model")
            if not chunk:
                break
            line += chunk
        if line == READY:
            return True
        self.close()
        return False

    def go(self, deadline: float) -> None:
        """Tell the sibling to start, with the run's ``deadline`` on this machine's monotonic clock (every later
        wait for it ends there too)."""
        self.deadline = deadline
        try:
            os.write(self.to_sibling, json.dumps({"deadline": deadline}).encode() + b"\n")
        except BrokenPipeError:
            pass  # it ended already: ``section`` says how

    def claim(self) -> int | None:
        """The next scenario group the sibling offered that neither process has claimed; None when none is left."""
        return _claim(self.claims, self.deadline)

    def section(self, helped: dict[int, Any]) -> dict[str, Any] | None:
        """Send the groups this process computed (``helped``) and return the section the sibling sent.

        Raises:
            ModelwatchError: the error the sibling reported, or what its exit status means when it sent nothing
                (``ModelCrashed`` for a signal of its own, ``ResourceLimit`` for a limit's).
        """
        try:
            view = memoryview(json.dumps(helped, default=_plain).encode())
            while view:
                view = view[os.write(self.to_sibling, view):]
        except BrokenPipeError:
            pass
        os.close(self.to_sibling)
        self.to_sibling = -1
        try:
            data = _read_all(self.from_sibling, self.max_bytes, self.deadline, "its section")
        finally:
            self.close()
        if len(data) > self.max_bytes:
            raise ResourceLimit(f"The drift process's result is larger than {self.max_bytes >> 20} MB.")
        if data:
            message = json.loads(data)
            if "error" in message:
                raise from_dict(message["error"])
            return message["section"]
        raise self._ended()

    def _ended(self) -> ModelwatchError:
        """The error that the sibling's exit status means (it sent nothing)."""
        _, status = os.waitpid(self.pid, 0)
        code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        return exit_error(code, self.memory_mb, {"exit_code": code}, process="drift process")

    def close(self) -> None:
        for fd in (self.to_sibling, self.from_sibling, self.claims):
            if fd >= 0:
                os.close(fd)
        self.to_sibling = self.from_sibling = self.claims = -1


class Child:
    """The sibling's side: the pipe it reads the child's word from, the one it answers on, and the claims pipe."""

    def __init__(self, from_child: int, to_child: int, claims: int, offers: int) -> None:
        self.from_child, self.to_child, self.claims, self.offers = from_child, to_child, claims, offers
        self.pending = b""  # read from the child past the end of its last message

    def ready(self) -> None:
        os.write(self.to_child, READY)

    def wait_go(self) -> float | None:
        """The run's deadline once the child says go; None when the child ended without saying it."""
        while b"\n" not in self.pending:
            chunk = os.read(self.from_child, 4096)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return float(json.loads(line)["deadline"])

    def offer(self, count: int) -> None:
        """Make scenario groups ``0 .. count - 1`` claimable by both processes, in one atomic write (so at most
        ``select.PIPE_BUF / CLAIM_BYTES``, 1024 on Linux: ``drift.section.MAX_GROUPS``)."""
        if count * CLAIM_BYTES > select.PIPE_BUF:
            raise ValueError(f"{count} groups do not fit one atomic write of the claims pipe.")
        os.write(self.offers, b"".join(i.to_bytes(CLAIM_BYTES, "little") for i in range(count)))
        os.close(self.offers)

    def claim(self) -> int | None:
        return _claim(self.claims)

    def helped(self) -> dict[int, list[dict[str, Any]]]:
        """The groups the child computed, once it has sent them (none when it ended without)."""
        data = self.pending + _read_all(self.from_child, MAX_HELPED_BYTES)
        try:
            return {int(index): group for index, group in json.loads(data).items()} if data else {}
        except (ValueError, AttributeError):
            return {}

    def send(self, message: dict[str, Any]) -> None:
        """``{"section": ...}`` or ``{"error": ...}``, JSON-able; the child reads it to the end of the pipe."""
        view = memoryview(json.dumps(message).encode())
        while view:
            view = view[os.write(self.to_child, view):]
        os.close(self.to_child)


def fork(memory_mb: int, max_bytes: int, keep_out: list[int],
         on_death: Callable[[], None]) -> Sibling | Child:
    """Fork the sibling: the child gets a ``Sibling``, the sibling a ``Child``.

    Args:
        memory_mb: the memory limit each process has (named when the sibling is stopped by it).
        max_bytes: the most the child reads back (the task's result limit).
        keep_out: descriptors the sibling must not hold (the parent's pipes): they become /dev/null or close.
        on_death: run first in the sibling (it sets ``PR_SET_PDEATHSIG``, which a fork clears).
    """
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    claims_r, claims_w = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    pid = os.fork()
    if pid:
        for fd in (down_r, up_w, claims_w, devnull):
            os.close(fd)
        return Sibling(pid, down_w, up_r, claims_r, memory_mb, max_bytes)
    on_death()
    for fd in (down_w, up_r):
        os.close(fd)
    for fd in keep_out:
        try:
            os.dup2(devnull, fd) if fd <= 2 else os.close(fd)
        except OSError:
            pass
    os.close(devnull)
    return Child(down_r, up_w, claims_r, claims_w)
