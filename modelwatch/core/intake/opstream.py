"""A pickle's opcodes without copies of its large literals.

``pickletools.genops`` reads every literal whole: a 70 MB array written in-band costs the web process the bytes
once more as ``bytes`` and again as ``bytearray``. The static walk only needs a literal's type and length, so
literals over ``max_literal`` bytes are skipped (their length checked against the file) and yielded as empty
values of their type; everything else is read by ``pickletools``' own readers.
"""
from __future__ import annotations

import io
import pickletools
import struct
from collections.abc import Iterator
from typing import IO, Any

# length-prefixed literals: the prefix's size and layout, and the empty value standing for a skipped one
_PREFIXED: dict[str, tuple[int, str, Any]] = {
    "bytes1": (1, "<B", b""), "bytes4": (4, "<I", b""), "bytes8": (8, "<Q", b""), "bytearray8": (8, "<Q", bytearray()),
    "unicodestring1": (1, "<B", ""), "unicodestring4": (4, "<I", ""), "unicodestring8": (8, "<Q", ""),
}


def genops(stream: IO[bytes], max_literal: int) -> Iterator[tuple[pickletools.OpcodeInfo, Any, int]]:
    """``(opcode, argument, position)`` up to and including STOP, as ``pickletools.genops`` yields them.

    Raises:
        ValueError: an unknown opcode, a truncated argument, or the end of the stream before STOP.
    """
    start = stream.tell()
    total = stream.seek(0, io.SEEK_END)
    stream.seek(start)
    while True:
        pos = stream.tell()
        code = stream.read(1)
        if not code:
            raise ValueError("pickle exhausted before seeing STOP")
        op = pickletools.code2op.get(code.decode("latin-1"))
        if op is None:
            raise ValueError(f"at position {pos}, opcode {code!r} unknown")
        yield op, (None if op.arg is None else _argument(stream, op.arg, max_literal, total)), pos
        if op.name == "STOP":
            return


def _argument(stream: IO[bytes], arg: pickletools.ArgumentDescriptor, max_literal: int, total: int) -> Any:
    if arg.name in _PREFIXED:
        width, layout, empty = _PREFIXED[arg.name]
        prefix = stream.read(width)
        if len(prefix) != width:
            raise ValueError(f"expected {width} bytes in a {arg.name} length, but only {len(prefix)} remain")
        (length,) = struct.unpack(layout, prefix)
        if length > max_literal:
            if stream.tell() + length > total:
                raise ValueError(f"expected {length} bytes in a {arg.name}, but the pickle ends before")
            stream.seek(length, io.SEEK_CUR)
            return empty
        stream.seek(-width, io.SEEK_CUR)
    return arg.reader(stream)
