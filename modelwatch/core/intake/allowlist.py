"""The reviewed allowlist of globals a model file may name, read from ``allowlist.json``; it fails closed."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

ALLOWLIST_PATH = Path(__file__).with_name("allowlist.json")
# A global is named by plain dotted identifiers (ASCII, so that every decoder of the bytes agrees on them).
MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
ATTRIBUTE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
USAGES = ("new", "call", "value")

# Never allowed, whatever the data file says: a generated or hand-edited entry under one of these is a bug,
# and the allowlist refuses to load (fail closed). Prefixes end with "." to match whole modules only.
NEVER_MODULE_PREFIXES = (
    "os.", "posix.", "nt.", "subprocess.", "sys.", "importlib.", "pkgutil.", "pydoc.", "marshal.", "types.",
    "pickle.", "_pickle.", "cloudpickle.", "dill.", "runpy.", "timeit.", "ctypes.", "_ctypes.", "shutil.",
    "socket.", "_socket.", "code.", "codeop.", "pty.", "multiprocessing.", "asyncio.", "webbrowser.", "io.",
    "_io.", "tempfile.", "glob.", "pathlib.", "operator.", "_operator.", "functools.", "_functools.",
    "numpy.ctypeslib.", "numpy.f2py.", "numpy.lib.npyio.", "numpy.lib._npyio_impl.", "numpy.lib.format.",
    "numpy.testing.", "scipy.io.", "sklearn.utils._testing.", "sklearn.datasets.", "joblib.numpy_pickle_compat.",
    "torch.", "builtins.eval", "builtins.exec", "builtins.compile", "builtins.getattr", "builtins.setattr",
    "builtins.delattr", "builtins.open", "builtins.__import__", "builtins.globals", "builtins.locals",
    "builtins.vars", "builtins.input", "builtins.breakpoint", "builtins.exit", "builtins.quit", "builtins.help",
    "builtins.memoryview", "builtins.print", "copyreg.__newobj__", "copyreg.__newobj_ex__",
    "numpy.load", "numpy.loadtxt", "numpy.genfromtxt", "numpy.fromfile", "numpy.save", "numpy.savez",
    "numpy.savetxt", "numpy.memmap", "numpy.fromregex", "numpy.DataSource", "numpy.frompyfunc",
    "numpy.vectorize", "numpy.piecewise", "numpy.apply_along_axis", "numpy.apply_over_axes",
    "scipy.sparse.load_npz", "scipy.sparse.save_npz",
)


# Globals that are never allowed in general but that scikit-learn itself pickles in one exact form: the static
# walk and the unpickler both check that form (a partial of check_array only, in its arguments and its state).
GUARDED: dict[tuple[str, str], tuple[str, str]] = {
    ("functools", "partial"): ("sklearn.utils.validation", "check_array"),
}


def is_never(module: str, name: str) -> bool:
    """True for a global that no allowlist may ever contain."""
    dotted = f"{module}.{name}"
    return any(dotted.startswith(p) or f"{module}.".startswith(p) for p in NEVER_MODULE_PREFIXES)


@lru_cache(maxsize=4)
def load_allowlist(path: str = str(ALLOWLIST_PATH)) -> dict[tuple[str, str], frozenset[str]]:
    """Read the allowlist: ``{(module, name): usages}``.

    Raises:
        RuntimeError: the file is missing, malformed, or holds an entry that is never allowed.
    """
    try:
        document = json.loads(Path(path).read_text())
        entries = document["entries"]
    except (OSError, ValueError, KeyError) as exc:
        raise RuntimeError(f"The model allowlist {path} cannot be read: {exc}") from exc
    table: dict[tuple[str, str], frozenset[str]] = {}
    for module, names in entries.items():
        for name, usages in names.items():
            plain = MODULE_NAME.fullmatch(module) and ATTRIBUTE_NAME.fullmatch(name)
            if not plain or is_never(module, name) or not set(usages) <= set(USAGES):
                raise RuntimeError(f"The model allowlist holds a forbidden entry {module}.{name}: refusing it all.")
            table[(module, name)] = frozenset(usages)
    return table


def offenders(usages: dict[tuple[str, str], set[str]], allowlist: dict[tuple[str, str], frozenset[str]]) -> list[str]:
    """Names (``module.name``) used in a way the allowlist does not permit, sorted.

    A global allowed for ``new`` or ``call`` may also appear as a value.
    """
    bad = []
    for (module, name), used in usages.items():
        if (module, name) in GUARDED:
            continue  # its one permitted form was checked by the walk, which refuses any other
        allowed = allowlist.get((module, name))
        if not ATTRIBUTE_NAME.fullmatch(name) or not permits(allowed, used):
            bad.append(f"{module}.{name}")
    return sorted(set(bad))


def permits(allowed: frozenset[str] | None, used: set[str]) -> bool:
    """An entry permits its own usages; any entry may also be referenced as a value."""
    return allowed is not None and all(u in allowed or u == "value" for u in used)


@lru_cache(maxsize=4)
def allowlist_info(path: str = str(ALLOWLIST_PATH)) -> dict[str, Any]:
    """The versions the allowlist was generated for and its size (for the Run's notes)."""
    document = json.loads(Path(path).read_text())
    return {"generated_for": document.get("generated_for", {}), "entries": len(load_allowlist(path))}
