"""What crosses from the sandbox child to the parent: three already-open pipes, read with caps and a deadline.

The parent never opens a path the child could have planted (a symlink, a FIFO, a giant file). Before the
child exists it makes three channels: progress lines (the child's stdout), the result (``RESULT_FD`` in the
child) and stderr. :func:`collect` reads them all until each is closed, keeps a bounded tail of stderr,
refuses a result over its cap, and stops at the deadline. :func:`encode_result` / :func:`decode_result`
define the result's framing: one JSON line, then the raw bytes of any arrays it names, each described in that line
by a plain dtype (``ARRAY_DTYPE``: booleans, numbers, fixed-width text), a shape and a byte length. The parent
checks the description against the bytes and reads them with ``numpy.frombuffer``: nothing the child sent is
unpickled or evaluated (``.npy`` headers are read with ``ast.literal_eval``, whose AST constructor CPython 3.11
shares between threads: two runs finishing at once could fail with a ``SystemError``, gh-106905).
"""
from __future__ import annotations

import json
import math
import os
import re
import selectors
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modelwatch.errors import ModelCrashed, ModelError, ModelwatchError, ResourceLimit

RESULT_FD = 3  # the result pipe's number inside the child, in both the warm and the cold path
STDERR_TAIL = 64 * 1024
MAX_LINE = 1 << 20
# an array's dtype as ``dtype.str``: byte order, kind (bool, int, uint, float, complex, bytes, text), item size
ARRAY_DTYPE = re.compile(r"[<>|=][biufcSU][0-9]{1,4}")
MAX_EXTRA_BYTES = 4096  # a progress line's extra keys ("section", "headline"), as JSON
EXIT_OUT_OF_MEMORY = 75  # a sandboxed process ran out of memory before it could even write its result
LIMIT_SIGNALS = {signal.SIGKILL, signal.SIGXCPU, signal.SIGXFSZ}  # what the sandbox's limits kill with


def memory_cap(memory_mb: int) -> str:
    """The memory limit, as errors state it: what the model may add to the sandbox's preloaded libraries."""
    return f"the model may use {memory_mb} MB of memory beyond the sandbox's own libraries"


def exit_error(code: int, memory_mb: int, details: dict[str, Any], out_of_memory: bool = False,
               process: str = "process") -> ModelwatchError:
    """What a sandboxed process's exit status means when it sent no result: a limit's signal (or running out of
    memory) is a ``ResourceLimit``, any other signal a crash of the model's own (``ModelCrashed``)."""
    if -code in LIMIT_SIGNALS or code == EXIT_OUT_OF_MEMORY or out_of_memory:
        return ResourceLimit(f"The model was stopped by the sandbox's limits (exit {code}); {memory_cap(memory_mb)}.",
                             details)
    if code < 0:
        name = signal.Signals(-code).name if -code in signal.valid_signals() else str(-code)
        return ModelCrashed(f"The model's {process} crashed ({name}).", {**details, "signal": name})
    return ModelError(f"The sandboxed {process} ended without a result (exit {code}).", details)


@dataclass
class Collected:
    """Everything one child sent back."""

    finished: bool = False  # every channel reached end of file before the deadline
    cancelled: bool = False
    oversized: bool = False  # the result went over its cap; reading stopped
    result: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    returncode: int | None = None  # as the warm worker reported it (``zygote_exit``)


def _relay(line: bytes, on_progress: Callable[..., None] | None, collected: Collected) -> None:
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return  # the model printed something of its own; it is not a progress line
    if not isinstance(message, dict):
        return
    if "zygote_exit" in message and isinstance(message["zygote_exit"], int):
        collected.returncode = message["zygote_exit"]  # the worker's line comes last: it wins over forgeries
    elif "stage" in message and "progress" in message and on_progress:
        try:
            stage, progress = str(message["stage"])[:200], float(message["progress"])
        except (TypeError, ValueError):
            return
        extra = {k: v for k, v in message.items() if k not in ("stage", "progress")}
        if extra and _size(extra) <= MAX_EXTRA_BYTES:
            on_progress(stage, progress, extra)
        else:
            on_progress(stage, progress)


def _size(value: Any) -> float:
    try:
        return len(json.dumps(value))
    except (ValueError, RecursionError):
        return float("inf")


def collect(progress_fd: int, result_fd: int, stderr_fd: int, deadline: float, max_result_bytes: int,
            on_progress: Callable[..., None] | None = None, cancel: threading.Event | None = None) -> Collected:
    """Read the three channels until all are closed; stop early at the deadline, on cancel or on a big result."""
    collected = Collected()
    selector = selectors.DefaultSelector()
    for fd in (progress_fd, result_fd, stderr_fd):
        selector.register(fd, selectors.EVENT_READ)
    line = b""
    try:
        while selector.get_map():
            if cancel is not None and cancel.is_set():
                collected.cancelled = True
                return collected
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return collected
            for key, _ in selector.select(timeout=min(remaining, 0.2)):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fd)
                    if key.fd == progress_fd and line:
                        _relay(line, on_progress, collected)
                elif key.fd == result_fd:
                    collected.result += chunk
                    if len(collected.result) > max_result_bytes:
                        collected.oversized = True
                        collected.result.clear()
                        return collected
                elif key.fd == stderr_fd:
                    collected.stderr += chunk
                    del collected.stderr[:-STDERR_TAIL]
                else:
                    line += chunk
                    *lines, line = line.split(b"\n")
                    for complete in lines:
                        if len(complete) <= MAX_LINE:
                            _relay(complete, on_progress, collected)
                    line = line[-MAX_LINE - 1:]
        collected.finished = True
        return collected
    finally:
        selector.close()


def encode_result(result: dict[str, Any], arrays: dict[str, Any] | None = None) -> bytes:
    """The result's bytes: a JSON line (``arrays`` describes each array) and the arrays' bytes in C order.

    Raises:
        ValueError: an array's dtype is not a plain one (``ARRAY_DTYPE``), e.g. objects.
    """
    import numpy as np

    described, blobs = {}, []
    for name, value in (arrays or {}).items():
        array = np.asarray(value)
        if not ARRAY_DTYPE.fullmatch(array.dtype.str):
            raise ValueError(f"array {name!r} has dtype {array.dtype}: only booleans, numbers and text are sent")
        described[name] = {"dtype": array.dtype.str, "shape": list(array.shape), "bytes": array.nbytes}
        blobs.append(array.tobytes(order="C"))
    if described:
        result = {**result, "arrays": described}
    return json.dumps(result, allow_nan=False).encode() + b"\n" + b"".join(blobs)


def _well_described(spec: Any) -> bool:
    """An array's description: a plain dtype numpy knows, at most 32 non-negative dimensions, their exact bytes."""
    import numpy as np

    if not (isinstance(spec, dict) and isinstance(spec.get("dtype"), str) and ARRAY_DTYPE.fullmatch(spec["dtype"])
            and isinstance(spec.get("shape"), list) and len(spec["shape"]) <= 32
            and all(type(d) is int and 0 <= d < 2**31 for d in spec["shape"]) and type(spec.get("bytes")) is int):
        return False
    try:
        itemsize = np.dtype(spec["dtype"]).itemsize  # a short string matched above: parsed, never evaluated
    except TypeError:  # e.g. "<f3"
        return False
    return itemsize > 0 and math.prod(spec["shape"]) * itemsize == spec["bytes"]


def decode_result(data: bytes) -> dict[str, Any]:
    """The child's result, validated; ``result["arrays"]`` holds numpy arrays (never a pickle, never evaluated).

    Raises:
        ModelError: the bytes are not a well-formed result.
    """
    header, _, rest = bytes(data).partition(b"\n")
    try:
        result = json.loads(header)
    except (ValueError, RecursionError):
        raise ModelError("The sandbox sent back an unreadable result.") from None
    if not isinstance(result, dict):
        raise ModelError("The sandbox sent back a result that is not an object.")
    error = result.get("error")
    if error is not None and not (isinstance(error, dict) and isinstance(error.get("code"), str)
                                  and isinstance(error.get("message", ""), str)
                                  and isinstance(error.get("details", {}), dict)):
        raise ModelError("The sandbox sent back a malformed error.")
    described = result.get("arrays")
    if described is None:
        return result
    if not isinstance(described, dict) or not all(isinstance(spec, dict) for spec in described.values()):
        raise ModelError("The sandbox sent back arrays that do not match their description.")
    for name, spec in described.items():
        if not _well_described(spec):
            raise ModelError(f"The sandbox sent back an unreadable array {str(name)[:100]!r}.",
                             {"description": str(spec)[:200]})
    if sum(spec["bytes"] for spec in described.values()) != len(rest):
        raise ModelError("The sandbox sent back arrays that do not match their description.")
    import numpy as np

    arrays, offset = {}, 0
    for name, spec in described.items():
        chunk = bytearray(rest[offset:offset + spec["bytes"]])  # writable, so the array is too
        arrays[str(name)] = np.frombuffer(chunk, dtype=np.dtype(spec["dtype"])).reshape(spec["shape"])
        offset += spec["bytes"]
    result["arrays"] = arrays
    return result
