"""Entry point inside the sandbox: harden the process, load the untrusted model, run one task, write ``result.json``.

Usage: ``python -m modelwatch.core.sandbox_child <workdir>`` (a cold start by ``core.sandbox.run_task``), or
``python -m modelwatch.core.sandbox_child --zygote <socket>`` (the warm pre-forked worker, which forks one
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

from modelwatch.core.jsonable import to_jsonable
from modelwatch.errors import BadRequest, ModelError, ModelwatchError, ResourceLimit

NOBODY = 65534
EXIT_OUT_OF_MEMORY = 75  # the child ran out of memory before it could even write its result
_PROTECTIONS: dict[str, Any] = {}


def report_progress(stage: str, fraction: float, **extra: Any) -> None:
    """One JSON line on stdout; the parent relays it (and small ``extra`` keys) to the Run row."""
    sys.stdout.write(json.dumps({"stage": stage, "progress": round(float(fraction), 4), **extra}) + "\n")
    sys.stdout.flush()


def harden(root: Path, limits: dict[str, Any], mode: str) -> dict[str, Any]:
    """Apply the sandbox's protections to this process and say which are active.

    ``memory_mb`` caps the whole address space of the process, the preloaded libraries included (about
    0.8 GB of it with the warm worker), so that the operator's figure is what the process can ever use.
    """
    # Identity, filesystem and syscall filters first, the memory cap last: a tiny cap must not stop them.
    uid_dropped = _drop_privileges(root)
    dumpable = _set_not_dumpable()
    from modelwatch.core import landlock, seccomp

    filesystem = landlock.restrict(root, Path(__file__).resolve().parents[2])
    filtered = seccomp.install()
    applied: list[str] = []
    memory = int(limits.get("memory_mb", 2048)) * 1024 * 1024
    timeout = float(limits.get("timeout_s", 300))
    settings = {
        "RLIMIT_AS": memory,
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
    protections = {
        "mode": mode, "seccomp": filtered, "landlock": filesystem, "rlimits": applied,
        "memory_mb": memory // 2**20,
        "clean_env": "SECRET_KEY" not in os.environ and "DATABASE_URL" not in os.environ,
        "private_dir": True, "uid_dropped": uid_dropped, "not_dumpable": dumpable, "process_group_kill": True,
    }
    _PROTECTIONS.update(protections)
    return protections


def _drop_privileges(root: Path) -> bool:
    """When started as root, hand the private directory to ``nobody`` and become ``nobody``."""
    if os.geteuid() != 0 or not all(_others_can_read(Path(p)) for p in _import_roots()):
        return False  # as nobody the child could not import what it has not imported yet
    try:
        for path in [root, *root.iterdir()]:
            os.chown(path, NOBODY, NOBODY)
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
        return True
    except OSError:
        return False


def _import_roots() -> list[str]:
    import sysconfig

    import numpy

    return [sysconfig.get_paths()["stdlib"], os.path.dirname(os.path.dirname(numpy.__file__)),
            str(Path(__file__).resolve().parents[2])]


def _others_can_read(path: Path) -> bool:
    try:
        if path.stat().st_mode & 0o005 != 0o005:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in path.parents)
    except OSError:
        return False


def _set_not_dumpable() -> bool:
    # Not dumpable: other processes of the same user cannot read this one's memory or /proc entries.
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) == 0  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):
        return False


def _inspect(model: Any, info: dict[str, Any], root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    return info


def _suite(model: Any, info: dict[str, Any], root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    from modelwatch.core.suite import run_suite

    return run_suite(model, info, payload, root, report_progress)


def _predict(model: Any, info: dict[str, Any], root: Path, payload: dict[str, Any]) -> dict[str, Any]:
    """Call ``predict`` (or ``method``) on ``X.npy`` or a CSV; the output goes back as ``output.npy`` (no pickle)."""
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
    np.save(root / "output.npy", output, allow_pickle=False)
    return {"info": info, "predict_ms": elapsed, "arrays": {"output": "output.npy"}}


TASKS: dict[str, Callable[[Any, dict[str, Any], Path, dict[str, Any]], dict[str, Any]]] = {
    "inspect": _inspect,
    "suite": _suite,
    "predict": _predict,
}


def run(root: Path) -> dict[str, Any]:
    """Load the model, describe it, and run the task named in ``job.json``."""
    from modelwatch.core.intake import load_model
    from modelwatch.core.introspect import describe

    job = json.loads((root / "job.json").read_text())
    report_progress("loading model", 0.0)
    started = time.perf_counter()
    model, load_notes = load_model(root / "model.bin", job["format"])
    info = describe(model)
    info["load_time_ms"] = (time.perf_counter() - started) * 1000
    info["sandbox"] = dict(_PROTECTIONS)
    info["intake"] = {**load_notes, "sandbox": dict(_PROTECTIONS)}
    return TASKS[job["task"]](model, info, root, job.get("payload") or {})


def main(root: Path, mode: str = "cold") -> None:
    """Harden this process, run the job in ``root`` and write ``result.json`` (always, unless killed)."""
    try:
        job = json.loads((root / "job.json").read_text())
        harden(root, job.get("limits") or {}, mode)
        result = run(root)
    except ModelwatchError as exc:
        result = {"error": exc.to_dict()}
    except MemoryError:
        result = {"error": ResourceLimit("The model ran out of the sandbox's memory.").to_dict()}
    except RecursionError as exc:
        result = {"error": ModelError(f"The model raised RecursionError: {exc}", {"type": "RecursionError"}).to_dict()}
    except Exception as exc:  # the model's own code raised: report it, never crash silently
        frames = traceback.format_exception(exc)
        result = {"error": ModelError(
            f"The model raised {type(exc).__name__}: {exc}",
            {"type": type(exc).__name__, "traceback": "".join(frames)[-2000:]},
        ).to_dict()}
    tmp = root / "result.json.tmp"
    tmp.write_text(json.dumps(to_jsonable(result), allow_nan=False))
    tmp.rename(root / "result.json")


if __name__ == "__main__":
    if sys.argv[1] == "--zygote":
        from modelwatch.core.sandbox_zygote import serve

        serve(Path(sys.argv[2]))
    else:
        import modelwatch.core.intake  # noqa: F401  imported before the limits, as the warm worker does
        import modelwatch.core.introspect  # noqa: F401

        try:
            main(Path(sys.argv[1]))
        except MemoryError:
            os._exit(EXIT_OUT_OF_MEMORY)
