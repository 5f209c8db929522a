"""Decide a model file's format from its first bytes, never from its name; decompress joblib files with caps."""
from __future__ import annotations

import bz2
import lzma
import zlib
from typing import Any

from modelwatch.errors import CorruptModel, PayloadTooLarge, UnsafeModel, UnsupportedFormat

# joblib's compressors, by magic prefix (joblib/compressor.py).
COMPRESSED_MAGIC = {
    b"\x78": "zlib",
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ": "xz",
    b"\x04\x22\x4d\x18": "lz4",
}
# First opcodes of protocol 0/1 pickles (which have no PROTO header).
PICKLE_PROTOCOL_0_1_OPCODES = set(b"(}]ccIFLNSVXUTKJMGi)N")
MAX_DECOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_RATIO = 200  # a model that compresses better than 200:1 is a bomb, not a model
_CHUNK = 1 << 20


def sniff_format(data: bytes) -> str:
    """Name the container of a model file.

    Returns ``pickle`` (protocols 0 to 5 and plain joblib files, whose arrays follow the pickle stream),
    ``joblib-<compressor>``, ``skops``, ``xgboost-json``, ``xgboost-ubj``, ``lightgbm-text`` or ``onnx``.

    Raises:
        CorruptModel: the file is empty.
        UnsupportedFormat: the bytes match no format modelwatch reads.
    """
    if not data:
        raise CorruptModel("The model file is empty.")
    if data[:4] == b"PK\x03\x04":
        return "skops"
    if data[:1] == b"\x80" and len(data) > 1 and 0 <= data[1] <= 5:
        return "pickle"
    if data[:2] == b"ZF":
        raise UnsupportedFormat("This is joblib's legacy compressed format (before joblib 0.10); re-save the model.")
    for magic, name in sorted(COMPRESSED_MAGIC.items(), key=lambda kv: -len(kv[0])):
        if data.startswith(magic):
            return f"joblib-{name}"
    if _is_onnx(data[:4]):
        return "onnx"
    native = _sniff_native(data)
    if native:
        return native
    if data[0] in PICKLE_PROTOCOL_0_1_OPCODES:
        return "pickle"
    raise UnsupportedFormat(
        "The file is not a pickle, joblib or skops model (unrecognised first bytes).",
        {"magic": data[:8].hex()},
    )


# ONNX ModelProto fields that serializers write after ir_version (field 1): producer name/version, domain,
# model_version, doc_string, graph, opset_import, metadata_props (tag = field << 3 | wire type).
_ONNX_SECOND_TAGS = {0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72}


def _is_onnx(head: bytes) -> bool:
    """An ONNX file starts with ir_version (tag 0x08, a one-byte varint 1..64) and then another ModelProto field.

    Four bytes, nothing parsed: the graph itself is only ever parsed inside the sandbox."""
    return len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] <= 64 and head[2] in _ONNX_SECOND_TAGS


def _sniff_native(data: bytes) -> str | None:
    head = data[:64]
    if head.startswith(b"tree\nversion=v"):
        return "lightgbm-text"
    stripped = head.lstrip()
    if stripped.startswith(b'{"learner"') or stripped.startswith(b'{"version"'):
        return "xgboost-json"
    if head[:1] == b"{" and b"learner" in head[:32] and head[1:2] in (b"L", b"i", b"U", b"I", b"l", b"$", b"#"):
        return "xgboost-ubj"
    return None


def _decompressor(name: str) -> Any:
    if name == "zlib":
        return zlib.decompressobj()
    if name == "gzip":
        return zlib.decompressobj(wbits=31)
    if name == "bz2":
        return bz2.BZ2Decompressor()
    if name == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    if name == "lz4":
        import lz4.frame

        return lz4.frame.LZ4FrameDecompressor()
    raise UnsupportedFormat(f"Unknown joblib compressor {name!r}.")


def decompress(data: bytes, fmt: str, max_bytes: int = MAX_DECOMPRESSED_BYTES, max_ratio: int = MAX_RATIO) -> bytes:
    """Decompress a ``joblib-<compressor>`` file in bounded steps; other formats pass through.

    Args:
        data: the file as uploaded.
        fmt: its format from :func:`sniff_format`.
        max_bytes: absolute cap on the decompressed size.
        max_ratio: cap on decompressed size / compressed size (a decompression bomb exceeds it).

    Raises:
        PayloadTooLarge: the decompressed size goes over ``max_bytes``.
        UnsafeModel: the compression ratio goes over ``max_ratio``.
        CorruptModel: the compressed stream is damaged or truncated.
    """
    if not fmt.startswith("joblib-"):
        return data
    name = fmt.split("-", 1)[1]
    limit = min(max_bytes, max(len(data) * max_ratio, 1 << 20))
    out = bytearray()
    engine = _decompressor(name)
    pending = data
    try:
        while True:
            # Each call is bounded by max_length, so a bomb never expands past the cap in memory.
            if name in ("zlib", "gzip"):
                chunk = engine.decompress(pending, _CHUNK)
                pending = engine.unconsumed_tail
            elif name == "lz4":
                chunk = engine.decompress(pending, _CHUNK)
                pending = b""
            else:
                chunk = engine.decompress(pending, _CHUNK)
                pending = b""
            out += chunk
            if len(out) > limit:
                if limit == max_bytes:
                    raise PayloadTooLarge(f"The model decompresses to more than {max_bytes // 2**20} MB.",
                                          {"max_bytes": max_bytes})
                raise UnsafeModel(
                    f"The compressed model expands more than {max_ratio}-fold: a decompression bomb.",
                    {"globals": [], "reason": "decompression_ratio", "compressed_bytes": len(data)},
                )
            if _finished(engine, name, chunk, pending):
                break
    except (zlib.error, OSError, EOFError, lzma.LZMAError, RuntimeError) as exc:
        raise CorruptModel(f"The compressed model is damaged ({type(exc).__name__}).") from exc
    if not out:
        raise CorruptModel("The compressed model is empty.")
    return bytes(out)


def _finished(engine: Any, name: str, chunk: bytes, pending: bytes) -> bool:
    if name in ("zlib", "gzip"):
        if engine.eof:
            return True
        if not chunk and not pending:
            raise CorruptModel("The compressed model is truncated.")
        return False
    if engine.eof:
        return True
    if not chunk and engine.needs_input:
        raise CorruptModel("The compressed model is truncated.")
    return False
