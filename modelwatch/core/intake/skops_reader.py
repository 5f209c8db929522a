"""skops files: a static walk over ``schema.json`` (web process) and loading with a fixed trusted list (sandbox)."""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from modelwatch.core.intake.allowlist import GUARDED, permits
from modelwatch.errors import CorruptModel, UnsafeModel

MAX_MEMBERS = 100_000
MAX_SCHEMA_BYTES = 16 << 20  # a 1,000-tree forest's schema is about 2 MB
MAX_RATIO = 200  # as for joblib: a model member that compresses better than 200:1 is a bomb
# How each skops loader uses the (module, class) it names: instantiated without __init__ (new), called with
# arguments from the file (call), or only referenced (value) / rebuilt by skops' own data readers. A loader not
# listed here (MethodNode and OperatorFuncNode call what the file chooses) is refused.
LOADER_USAGE = {
    "ObjectNode": "new", "_DictWithDeprecatedKeysNode": "new", "ConstructorFromReduceNode": "call",
    "LossNode": "call", "TreeNode": "call", "FunctionNode": "value", "TypeNode": "value", "NdArrayNode": "value",
    "MaskedArrayNode": "value", "DTypeNode": "value", "SparseMatrixNode": "value", "RandomStateNode": "value",
    "RandomGeneratorNode": "value", "PartialNode": "call",
}
CONTAINER_LOADERS = {"DictNode", "DefaultDictNode", "ListNode", "SetNode", "TupleNode", "BytesNode", "BytearrayNode",
                     "SliceNode", "JsonNode"}
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
        raise CorruptModel("The skops file is not a readable zip archive.") from exc
    if len(members) > MAX_MEMBERS or "schema.json" not in archive.namelist():
        raise CorruptModel("The zip archive is not a skops model (no schema.json).")
    if any(m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for m in members):
        # bzip2 and lzma members decompress without an output bound per call: never opened.
        raise UnsafeModel("The skops archive uses a compression other than deflate.",
                          {"globals": [], "reason": "decompression"})
    declared = sum(m.file_size for m in members)
    if declared > min(max_bytes, max(len(data), 1 << 20) * MAX_RATIO):
        raise UnsafeModel("The skops archive expands beyond the size limit: a decompression bomb.",
                          {"globals": [], "reason": "decompression"})
    return archive


def _read_schema(archive: zipfile.ZipFile) -> Any:
    """schema.json, read in bounded chunks (zipfile stops at the declared size, checked above)."""
    out = bytearray()
    try:
        with archive.open("schema.json") as member:
            while chunk := member.read(1 << 20):
                out += chunk
                if len(out) > MAX_SCHEMA_BYTES:
                    raise UnsafeModel("The skops schema is larger than the limit.",
                                      {"globals": [], "reason": "decompression"})
        return json.loads(out)
    except (ValueError, zipfile.BadZipFile, OSError, RecursionError) as exc:
        raise CorruptModel("The skops schema is malformed.") from exc


def schema_types(data: bytes, max_bytes: int = 1 << 30) -> tuple[dict[tuple[str, str], set[str]], list[str]]:
    """Every (module, class) named in a skops file's schema with how its loader uses it, and refused constructs.

    Raises:
        CorruptModel: not a skops archive or a malformed schema.
        UnsafeModel: the archive expands beyond ``max_bytes`` or uses bzip2/lzma.
    """
    schema = _read_schema(_open(data, max_bytes))
    found: dict[tuple[str, str], set[str]] = {}
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
            if loader in LOADER_USAGE:
                found.setdefault((module, cls), set()).add(LOADER_USAGE[loader])
            elif loader in CONTAINER_LOADERS:
                # A container of that class (Bunch, defaultdict) built empty then filled: any allowlisted entry.
                found.setdefault((module, cls), set()).add("value")
            else:
                refused.append(f"{module[:80]}.{cls[:80]} ({str(loader)[:40]})")
            if loader == "PartialNode" and not _is_guarded_partial(node):
                refused.append("functools.partial")
        stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
    return found, refused


def _is_guarded_partial(node: dict[str, Any]) -> bool:
    func = (node.get("content") or {}).get("func") or {}
    return (func.get("__module__"), func.get("__class__")) == GUARDED[("functools", "partial")]


def skops_offenders(data: bytes, allowlist: dict[tuple[str, str], frozenset[str]]) -> list[str]:
    """Names a skops file would load in a way the allowlist does not permit (usage included), sorted."""
    found, refused = schema_types(data)
    bad = {f"{m[:80]}.{c[:80]}" for (m, c), used in found.items()
           if (m, c) not in BASIC_TYPES and (m, c) not in GUARDED and not permits(allowlist.get((m, c)), used)}
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
        raise UnsafeModel("The skops file names types outside the allowlist.", {"globals": ["<untrusted types>"]}) \
            from exc
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, AttributeError, IndexError, OSError) as exc:
        # The reader's messages quote the file: only the exception's type is reported.
        raise CorruptModel(f"The skops file could not be read ({type(exc).__name__}).",
                           {"type": type(exc).__name__}) from exc
