"""skops files: a static walk over ``schema.json`` (web process) and loading with a fixed trusted list (sandbox)."""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from modelwatch.core.intake.allowlist import GUARDED
from modelwatch.errors import CorruptModel, UnsafeModel

MAX_MEMBERS = 100_000
# Loaders that call a method or an operator chosen by the file: never allowed.
REFUSED_LOADERS = {"MethodNode", "OperatorFuncNode"}
# Plain containers and scalars that skops' own loaders build without importing anything else.
BASIC_TYPES = {
    ("builtins", n) for n in ("dict", "list", "tuple", "set", "str", "int", "float", "bool", "NoneType", "slice",
                              "bytes", "bytearray", "complex", "frozenset")
}


def _open(data: bytes, max_bytes: int) -> zipfile.ZipFile:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CorruptModel(f"The skops file is not a readable zip archive ({exc}).") from exc
    if len(members) > MAX_MEMBERS or "schema.json" not in archive.namelist():
        raise CorruptModel("The zip archive is not a skops model (no schema.json).")
    if sum(m.file_size for m in members) > max_bytes:
        raise UnsafeModel("The skops archive expands beyond the size limit: a decompression bomb.",
                          {"globals": [], "reason": "decompression"})
    return archive


def schema_types(data: bytes, max_bytes: int = 1 << 30) -> tuple[set[tuple[str, str]], list[str]]:
    """Every (module, class) named in a skops file's schema, and the refused constructs it uses.

    Raises:
        CorruptModel: not a skops archive or a malformed schema.
        UnsafeModel: the archive expands beyond ``max_bytes``.
    """
    archive = _open(data, max_bytes)
    try:
        schema = json.loads(archive.read("schema.json"))
    except (ValueError, zipfile.BadZipFile, OSError) as exc:
        raise CorruptModel(f"The skops schema is malformed ({exc}).") from exc
    found: set[tuple[str, str]] = set()
    refused: list[str] = []
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        module, cls, loader = node.get("__module__"), node.get("__class__"), node.get("__loader__")
        if isinstance(module, str) and isinstance(cls, str):
            found.add((module, cls))
            if loader in REFUSED_LOADERS:
                refused.append(f"{module}.{cls} ({loader})")
            if loader == "PartialNode" and not _is_guarded_partial(node):
                refused.append("functools.partial")
        stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return found, refused


def _is_guarded_partial(node: dict[str, Any]) -> bool:
    func = (node.get("content") or {}).get("func") or {}
    return (func.get("__module__"), func.get("__class__")) == GUARDED[("functools", "partial")]


def skops_offenders(data: bytes, allowlist: dict[tuple[str, str], frozenset[str]]) -> list[str]:
    """Names a skops file would load that neither the allowlist nor the basic types cover, sorted."""
    found, refused = schema_types(data)
    bad = {f"{m}.{c}" for m, c in found if (m, c) not in allowlist and (m, c) not in BASIC_TYPES
           and (m, c) not in GUARDED and "." not in c}
    bad |= {f"{m}.{c}" for m, c in found if "." in c}
    return sorted(bad | set(refused))


def trusted_names(allowlist: dict[tuple[str, str], frozenset[str]]) -> list[str]:
    """The fixed server-side trusted list handed to skops: never the file's own untrusted types."""
    names = {f"{m}.{n}" for m, n in allowlist} | {f"{m}.{n}" for m, n in BASIC_TYPES}
    return sorted(names | {f"{m}.{n}" for m, n in GUARDED} | {".".join(v) for v in GUARDED.values()})


def load_skops(data: bytes, allowlist: dict[tuple[str, str], frozenset[str]]) -> Any:
    """Load a skops file with skops' trusted types plus our fixed list (inside the sandbox only).

    Raises:
        UnsafeModel: the file needs a type outside both lists.
        CorruptModel: the archive is malformed.
    """
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    bad = skops_offenders(data, allowlist)
    if bad:
        raise UnsafeModel(f"The skops file names types outside the allowlist: {', '.join(bad[:5])}.",
                          {"globals": bad})
    try:
        return skops.io.loads(data, trusted=trusted_names(allowlist))
    except UntrustedTypesFoundException as exc:
        raise UnsafeModel(f"The skops file names untrusted types: {exc}", {"globals": [str(exc)[:500]]}) from exc
    except (zipfile.BadZipFile, KeyError, ValueError, json.JSONDecodeError) as exc:
        raise CorruptModel(f"The skops file could not be read ({type(exc).__name__}: {exc}).") from exc
