"""Model intake: a static scan before anything loads (web process), then allowlisted loading (sandbox only).

`scan` never executes the file: it decides the container, decompresses with caps, walks the opcodes and
checks every global against the reviewed allowlist. `load_model` runs only in the sandbox child: it loads
with the allowlist unpickler, which enforces the same allowlist again on its own (defence in depth), reads
joblib's arrays by hand, and loads skops files with a fixed trusted list. `MODELWATCH_TRUST_PICKLES=1` (an
operator switch) bypasses the allowlist for models with custom classes; loading still happens in the sandbox
and the notes say so.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from modelwatch.core.intake.allowlist import allowlist_info, load_allowlist, offenders
from modelwatch.core.intake.formats import decompress
from modelwatch.core.intake.opcodes import LEGACY_WRAPPERS, ScanError, ScanLimits, walk_pickle
from modelwatch.core.intake.skops_reader import load_skops, skops_offenders
from modelwatch.core.intake.symbols import Global, Obj, SymDict, SymSet
from modelwatch.core.intake.unpickler import restricted_loads
from modelwatch.core.intake.validate import validate_model
from modelwatch.errors import CorruptModel, NotAModel, UnsafeModel, UnsupportedFormat, UnsupportedModel

__all__ = ["scan", "load_model", "check_feature_count", "ScanLimits", "MAX_ARRAY_BYTES"]
MAX_ARRAY_BYTES = 4 << 30
NATIVE_FORMATS = ("xgboost-json", "xgboost-ubj", "lightgbm-text")
_DATA_CALLS = {"numpy._core.multiarray._reconstruct", "numpy._core.numeric._frombuffer", "numpy.dtype",
               "numpy._core.multiarray.scalar", "numpy.ma.core._mareconstruct", "builtins.set", "builtins.frozenset",
               "collections.OrderedDict", "collections.defaultdict", "builtins.bytearray", "_codecs.encode"}


def scan(data: bytes, fmt: str, *, limits: ScanLimits = ScanLimits(max_array_bytes=MAX_ARRAY_BYTES),
         trusted: bool = False) -> dict[str, Any]:
    """Statically inspect a model file; nothing in it is imported, constructed or called.

    Args:
        data: the file as uploaded.
        fmt: its format from ``formats.sniff_format``.
        limits: the walk's bounds (array sizes, opcodes, nesting); past them the file is refused as unsafe.
        trusted: the operator's switch (``MODELWATCH_TRUST_PICKLES``): offenders are reported, not refused.

    Returns:
        ``{"format", "globals": [...], "protocol", "n_arrays", "array_bytes", "trusted_mode"}``.

    Raises:
        UnsafeModel: a global or construct outside the allowlist; ``details.globals`` lists the offenders.
        CorruptModel: empty, truncated or garbage bytes.
        NotAModel: the file holds plain data (a dict, a list, an array).
        UnsupportedFormat: joblib's legacy array format.
    """
    result: dict[str, Any] = {"format": fmt, "trusted_mode": trusted, "globals": []}
    if fmt == "skops":
        bad = skops_offenders(data, load_allowlist())
        if bad and not trusted:
            raise UnsafeModel(f"The skops file names {len(bad)} type(s) outside the allowlist: "
                              f"{', '.join(bad[:5])}.", {"globals": bad})
        return {**result, "untrusted_globals": bad}
    if fmt in NATIVE_FORMATS or fmt == "onnx":
        return result  # parsed by onnx, XGBoost or LightGBM inside the sandbox; these files name no code
    report = _walk(decompress(data, fmt), limits)
    if any(key in LEGACY_WRAPPERS for key in report.usages):
        raise UnsupportedFormat("This joblib file uses the legacy array format (joblib < 0.10); re-save the model.")
    bad = offenders(report.usages, load_allowlist())
    if bad and not trusted:
        raise UnsafeModel(f"The model would import {len(bad)} global(s) outside the allowlist: {', '.join(bad[:5])}.",
                          {"globals": bad})
    _check_is_model(report.top)
    return {**result, "globals": sorted(f"{m}.{n}" for m, n in report.usages), "untrusted_globals": bad,
            "protocol": report.protocol, "n_arrays": report.n_arrays, "array_bytes": report.array_bytes}


def _walk(raw: bytes, limits: ScanLimits) -> Any:
    try:
        return walk_pickle(raw, limits)
    except ScanError as exc:
        if exc.kind == "unsafe":
            raise UnsafeModel(str(exc), {"globals": [], **exc.details}) from exc
        raise CorruptModel(f"The model file is damaged or truncated: {exc}", exc.details) from exc


def _check_is_model(top: Any) -> None:
    """A file whose top-level value is plain data (or an array) holds no estimator."""
    if isinstance(top, Obj) and isinstance(top.source, Global):
        if f"{top.source.module}.{top.source.name}" not in _DATA_CALLS:
            return
    elif isinstance(top, Obj):
        pass  # a joblib array
    elif not isinstance(top, (SymDict, SymSet, list, tuple, str, bytes, int, float, type(None))):
        return
    kind = "an array" if isinstance(top, Obj) else f"plain data ({type(top).__name__.replace('Sym', '').lower()})"
    raise NotAModel(f"The file holds {kind}, not a model with predict().")


def check_feature_count(info: dict[str, Any], max_features: int) -> None:
    """Refuse a model wider than the operator's setting: every run validates and generates each feature, so a
    737-byte file claiming 15,000 features would cost seconds of schema validation per request.

    Raises:
        UnsupportedModel: ``info["n_features"]`` is over ``max_features``.
    """
    n_features = int(info.get("n_features") or 0)
    if n_features > max_features:
        raise UnsupportedModel(f"The model takes {n_features:,} features; this server tests models of up to "
                               f"{max_features:,} (MODELWATCH_MAX_FEATURES).",
                               {"n_features": n_features, "max_features": max_features})


def load_model(path: Path, fmt: str, trusted: bool = False) -> tuple[Any, dict[str, Any]]:
    """Load a model file. Only ever called inside the sandbox child.

    ``trusted`` (the operator's switch, sent in the task's limits) loads without the allowlist.

    Returns:
        The model and notes for the Run: the format, whether the allowlist applied, its versions.

    Raises:
        UnsafeModel: refused by the static pass or by the allowlist unpickler.
        CorruptModel: the file cannot be read, or a structure in it is malformed (``validate.validate_model``).
    """
    data = Path(path).read_bytes()
    notes: dict[str, Any] = {"format": fmt, "allowlist": not trusted, "trusted_mode": trusted,
                             "allowlist_bypassed": trusted}
    if not trusted:
        notes["allowlist_generated_for"] = allowlist_info()["generated_for"]
    if fmt == "skops":
        model = _load_skops(data, trusted)
    elif fmt == "onnx":  # checked by onnx_check before onnxruntime sees it; a graph names no code
        from modelwatch.core.intake.onnx_model import load_onnx

        return load_onnx(data), {"format": fmt, "allowlist": False, "trusted_mode": False, "onnx_checked": True}
    elif fmt in NATIVE_FORMATS:
        from modelwatch.core.intake.native import load_native

        model = load_native(data, fmt)
    else:
        # The web process ran the static pass before storing the file; here the allowlist unpickler enforces the
        # same allowlist again, call by call, on its own (defence in depth, tested without the static pass).
        model = restricted_loads(decompress(data, fmt), load_allowlist(), trusted=trusted,
                                 max_array_bytes=MAX_ARRAY_BYTES)
    if not trusted:  # trusted mode's custom classes may hold anything; the sandbox still contains them
        validate_model(model)
    return model, notes


def _load_skops(data: bytes, trusted: bool) -> Any:
    if trusted:
        import skops.io

        return skops.io.loads(data, trusted=skops.io.get_untrusted_types(data=data))
    return load_skops(data, load_allowlist())
