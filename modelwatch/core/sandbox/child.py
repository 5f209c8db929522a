"""Entry point inside the sandbox: harden the process, load the untrusted model, run one task, send the result.

The result goes down the pipe the parent opened before the child existed (``sandbox.channels.RESULT_FD``), never
into a file the parent would have to open. Usage: ``python -m modelwatch.core.sandbox.child <workdir> <fd>``
(a cold start by ``core.sandbox.runner.run_task``), or
``python -m modelwatch.core.sandbox.child --zygote <socket>`` (the warm pre-forked worker, which forks one
child per task and calls :func:`main` in it).
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.core.sandbox import sibling
from modelwatch.core.sandbox.channels import EXIT_OUT_OF_MEMORY, RESULT_FD, memory_cap
from modelwatch.errors import BadRequest, ModelError, ModelwatchError, ResourceLimit, ServiceUnavailable

PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
_PROTECTIONS: dict[str, Any] = {}
_PAIR: list[sibling.Sibling | sibling.Child] = []  # a suite's sibling: its handle in the child, the child's in it


def report_progress(stage: str, fraction: float, **extra: Any) -> None:
    """One JSON line on stdout; the parent relays it (and small ``extra`` keys) to the Run row."""
    sys.stdout.write(json.dumps({"stage": stage, "progress": round(float(fraction), 4), **extra}) + "\n")
    sys.stdout.flush()


def harden(root: Path, job: dict[str, Any], mode: str, pid_namespace: bool = False) -> dict[str, Any]:
    """Apply the sandbox's protections to this process and say which are in force.

    Every module the task can need is imported already (the process may read nothing outside ``root``
    afterwards). ``memory_mb`` is the address space the task may add to what the process maps as it hardens: the
    preloaded libraries reserve about 2 GB of it with the warm worker (two OpenBLAS copies' buffers, llvmlite,
    onnxruntime..., mostly never resident), so a cap on the whole address space would leave a model a few dozen MB
    of the operator's figure and report an ordinary model as out of memory.

    Raises:
        SandboxUnavailable: root could not be dropped and the operator did not allow running as root.
    """
    from modelwatch.core.sandbox import landlock, privileges, seccomp

    limits = job.get("limits") or {}
    _prctl(PR_SET_PDEATHSIG, 9)  # SIGKILL when the process that forked this one dies
    if job.get("task") == "suite" and len(os.sched_getaffinity(0)) > 1:
        # before anything below, which the sibling then does for itself: Landlock's rules hold this pid's /proc/self
        _PAIR.append(_fork_sibling(limits))
    preloaded = _mapped_bytes()  # before the drop: a non-dumpable process's /proc files belong to root
    identity = privileges.Identity(**(job.get("identity") or {"uid": None, "gid": None}))
    rules = landlock.ruleset(root, Path(__file__).resolve().parents[3])  # opens the code's paths: before the drop
    privileges.drop(identity)
    dumpable = _prctl(PR_SET_DUMPABLE, 0)  # others of this uid cannot read this one's memory or /proc entries
    landlock_abi = landlock.enforce(*rules)
    filtered = seccomp.install(_PAIR[0].pid if _PAIR and isinstance(_PAIR[0], sibling.Sibling) else None)
    applied: list[str] = []
    memory = int(limits.get("memory_mb", 2048)) * 1024 * 1024
    timeout = float(limits.get("timeout_s", 300))
    settings = {
        "RLIMIT_AS": preloaded + memory,
        "RLIMIT_CPU": int(timeout * 2) + 10,  # a backstop behind the wall clock; numpy may use 2 cores
        "RLIMIT_FSIZE": int(limits.get("max_file_mb", 512)) * 1024 * 1024,
        "RLIMIT_NOFILE": int(limits.get("max_open_files", 256)),
        "RLIMIT_CORE": 0,
    }
    for name, value in settings.items():
        try:
            soft_hard = (value, value + 5) if name == "RLIMIT_CPU" else (value, value)
            resource.setrlimit(getattr(resource, name), soft_hard)
            applied.append(name)
        except (ValueError, OSError):
            pass
    who = privileges.describe()
    protections = {
        "mode": mode, "seccomp": filtered, "landlock": landlock_abi > 0, "landlock_abi": landlock_abi,
        "rlimits": applied, "memory_mb": memory // 2**20, "preloaded_mb": preloaded // 2**20,
        "address_space_mb": (preloaded + memory) // 2**20,
        "clean_env": "SECRET_KEY" not in os.environ and "DATABASE_URL" not in os.environ,
        "private_dir": True, "uid": who["uid"], "gid": who["gid"], "uid_dropped": who["uid"] != 0,
        "insecure_root": identity.insecure and who["uid"] == 0,
        "capabilities": who["capabilities"], "no_capabilities": who["no_capabilities"],
        "no_new_privs": who["no_new_privs"], "securebits": who["securebits"],
        "pid_namespace": pid_namespace, "not_dumpable": dumpable, "process_group_kill": True,
        "sibling_process": bool(_PAIR),
    }
    _PROTECTIONS.update(protections)
    return protections


def _mapped_bytes() -> int:
    """The address space this process maps now (VmSize), 0 where the kernel does not say."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def _fork_sibling(limits: dict[str, Any]) -> sibling.Sibling | sibling.Child:
    """Fork the suite's sibling (``core.sandbox.sibling``), which then hardens itself as this process does."""
    parent = os.getpid()

    def on_death() -> None:
        _prctl(PR_SET_PDEATHSIG, 9)
        if os.getppid() != parent:  # the child died before the line above: nobody would read the sibling
            os._exit(0)

    return sibling.fork(int(limits.get("memory_mb", 2048)), int(limits.get("max_result_mb", 16)) << 20,
                        [0, 1, 2, RESULT_FD], on_death)


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _inspect(model: Any, info: dict[str, Any], root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """The model's description with what it knows of its inputs, for schema inference (the other tasks skip it)."""
    from modelwatch.core.model.introspect import with_priors

    return with_priors(model, info)


def _suite(model: Any, info: dict[str, Any], root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    from modelwatch.core.suite import run_suite

    return run_suite(model, info, payload, root, report_progress, sibling=_PAIR[0] if _PAIR else None)


def _predict(model: Any, info: dict[str, Any], root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Call ``predict`` (or ``method``) on ``X.npy`` or a CSV; the output goes back as ``.npy`` bytes (no pickle)."""
    import numpy as np

    method = payload.get("method", "predict")
    if method not in ("predict", "predict_proba", "decision_function"):
        raise BadRequest(f"Unknown prediction method {method!r}.")
    if payload.get("csv"):
        import pandas as pd

        X = pd.read_csv(root / Path(payload["csv"]).name)
    else:
        X = np.load(root / Path(payload.get("X", "X.npy")).name, allow_pickle=False)
    report_progress("predicting", 0.5)
    started = time.perf_counter()
    output = np.asarray(getattr(model, method)(X))
    elapsed = (time.perf_counter() - started) * 1000
    if output.dtype.hasobject:
        output = output.astype(str)
    return {"info": info, "predict_ms": elapsed, "arrays": {"output": output}}


def _what_if(model: Any, info: dict[str, Any], root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Predict and explain one edited row (``core.explain.what_if``), against the run's sample when it had one."""
    from modelwatch.core.explain.what_if import what_if
    from modelwatch.core.schema.from_csv import read_csv_bytes

    sample = root / "sample.csv"
    return what_if(model, info, payload, read_csv_bytes(sample.read_bytes()) if sample.exists() else None)


TASKS: dict[str, Callable[[Any, dict[str, Any], Path, dict[str, Any]], dict[str, Any]]] = {
    "inspect": _inspect,
    "suite": _suite,
    "predict": _predict,
    "what_if": _what_if,
}


def _load(root: Path, job: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """The model and its description (without its priors: ``_inspect`` adds them)."""
    from modelwatch.core.intake import load_model
    from modelwatch.core.model.introspect import describe

    started = time.perf_counter()
    model, load_notes = load_model(root / "model.bin", job["format"], bool(job["limits"].get("trusted")))
    info = describe(model, priors=False)
    info["load_time_ms"] = (time.perf_counter() - started) * 1000
    info["sandbox"] = dict(_PROTECTIONS)
    info["intake"] = {**load_notes, "sandbox": dict(_PROTECTIONS)}
    return model, info


def run(root: Path, job: dict[str, Any]) -> dict[str, Any]:
    """Load the model, describe it, and run the task named in ``job``."""
    report_progress("loading model", 0.0)
    model, info = _load(root, job)
    return TASKS[job["task"]](model, info, root, job.get("payload") or {})


def _sibling_main(root: Path, job: dict[str, Any], child: sibling.Child) -> None:
    """The sibling's life: load the model as the child does, compute its section when told, send it. Never returns."""
    from modelwatch.core.suite import run_apart

    try:
        model, info = _load(root, job)
        section = run_apart(model, info, job.get("payload") or {}, root, child)
        message = None if section is None else {"section": to_jsonable(section)}
    except Exception as exc:  # as the child reports its own (the model's code raised while loading...)
        message = error_result(exc)
    try:
        if message is not None:
            child.send(message)
    except OSError:  # the child is gone
        pass
    os._exit(0)


MAX_MESSAGE_CHARS = 300


def model_error(exc: BaseException) -> ModelError:
    """What the Run says when the model's code raised: its type, a bounded message and where (no source, no values).

    The message is cut so that an exception built from data (a forged vocabulary, a file) cannot carry much of it;
    the frames name files, lines and functions only.
    """
    message = " ".join(str(exc).split())[:MAX_MESSAGE_CHARS]
    frames = [f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
              for frame in traceback.extract_tb(exc.__traceback__)][-12:]
    return ModelError(f"The model raised {type(exc).__name__}: {message}", {"type": type(exc).__name__,
                                                                            "frames": frames})


def error_result(exc: Exception) -> dict[str, Any]:
    """A task's result for the exception that ended it: the typed error the parent raises again."""
    from modelwatch.core.sandbox.privileges import SandboxUnavailable

    if isinstance(exc, ModelwatchError):
        error = exc
    elif isinstance(exc, SandboxUnavailable):
        error = ServiceUnavailable(str(exc))
    elif isinstance(exc, MemoryError):
        cap = f" ({memory_cap(_PROTECTIONS['memory_mb'])})" if "memory_mb" in _PROTECTIONS else ""
        error = ResourceLimit(f"The model ran out of the sandbox's memory{cap}.")
    elif isinstance(exc, RecursionError):
        error = ModelError(f"The model raised RecursionError: {exc}", {"type": "RecursionError"})
    else:  # the model's own code raised: report it, never crash silently
        error = model_error(exc)
    return {"error": error.to_dict()}


def main(root: Path, mode: str = "cold", pid_namespace: bool = False) -> None:
    """Harden this process, run the job in ``root`` and send the result down ``RESULT_FD`` (always, unless killed)."""
    from modelwatch.core.sandbox.channels import encode_result

    try:
        job = json.loads((root / "job.json").read_text())
        harden(root, job, mode, pid_namespace)
        if _PAIR and isinstance(_PAIR[0], sibling.Child):
            _sibling_main(root, job, _PAIR[0])
        result = run(root, job)
    except Exception as exc:
        result = error_result(exc)
    arrays = result.pop("arrays", None) if isinstance(result.get("arrays"), dict) else None
    try:
        data = encode_result(to_jsonable(result), arrays)
    except (TypeError, ValueError) as exc:
        data = encode_result({"error": ModelError(f"The task's result is not JSON: {exc}").to_dict()})
    view = memoryview(data)
    while view:
        view = view[os.write(RESULT_FD, view):]
    os.close(RESULT_FD)


if __name__ == "__main__":
    # cold start: <workdir> <result fd>; or the warm worker: --zygote <socket> <pid of the process that started it>
    from modelwatch.core.sandbox.zygote import preload

    # everything the task can import, before the drop makes the interpreter's files unreadable
    preload()
    if sys.argv[1] == "--zygote":
        from modelwatch.core.sandbox.zygote import compile_ahead, serve

        compile_ahead(explain=os.environ.get("MODELWATCH_SANDBOX_WARM_EXPLAIN", "1") != "0")
        serve(Path(sys.argv[2]), int(sys.argv[3]))
    else:
        passed = int(sys.argv[2])
        if passed != RESULT_FD:
            os.dup2(passed, RESULT_FD)
            os.close(passed)  # one end of the result pipe: no copy a sibling could inherit and hold open
        try:
            main(Path(sys.argv[1]))
        except MemoryError:
            os._exit(EXIT_OUT_OF_MEMORY)
