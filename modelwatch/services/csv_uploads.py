"""A run's sample or current CSV taken from an upload in chunks: checked, matched, renamed and compressed on the way.

The web process never holds the file whole: it reads 256 KB at a time from the upload (which Werkzeug keeps in a
temporary file), checks the encoding as it goes, matches the header against the model's features (a mismatch
is refused after the first chunk), renames the matched columns, and writes UTF-8 text straight into a gzip
stream kept in a temporary file, which is what ``Run.sample_csv`` stores: schema inference reads it back
through pandas in chunks, and only the insert holds the compressed bytes.
"""
from __future__ import annotations

import codecs
import csv
import ctypes
import ctypes.util
import gzip
import hashlib
import io
import tempfile
from dataclasses import dataclass
from typing import IO, Any

import pandas as pd
from flask import current_app

from modelwatch.core.schema.columns import ColumnMatch, require_match
from modelwatch.core.schema.from_csv import not_utf8, read_csv_text, sniff_delimiter, text_encoding
from modelwatch.errors import PayloadTooLarge
from modelwatch.models import ModelArtifact

CHUNK = 256 * 1024
SNIFF_LINES = 50  # as ``schema.from_csv.sniff_delimiter`` reads a whole file
_GLIBC = ctypes.util.find_library("c")
_LIBC = ctypes.CDLL(_GLIBC) if _GLIBC and hasattr(ctypes.CDLL(_GLIBC), "malloc_trim") else None


@dataclass
class StoredCsv:
    """A CSV as a run stores it: gzip-compressed UTF-8 with the model's column names, in a temporary file."""

    file: IO[bytes]
    delimiter: str
    size: int  # uncompressed bytes as uploaded
    match: ColumnMatch | None

    def frame(self) -> pd.DataFrame:
        """The CSV read by pandas (``schema.from_csv.read_csv_text``), decompressed as it reads."""
        self.file.seek(0)
        text = io.TextIOWrapper(gzip.GzipFile(fileobj=self.file, mode="rb"), encoding="utf-8", newline="")
        return read_csv_text(text, self.delimiter)

    def digest(self) -> str:
        """The SHA-256 of the stored bytes (gzip without a timestamp: the same CSV gives the same digest)."""
        self.file.seek(0)
        return hashlib.file_digest(self.file, "sha256").hexdigest()

    def compressed(self) -> bytes:
        """The bytes ``Run.sample_csv`` / ``current_csv`` store (``CompressedBinary`` keeps gzip as it is)."""
        self.file.seek(0)
        return self.file.read()

    def close(self) -> None:
        self.file.close()


def check_size(size: int, what: str = "sample") -> None:
    """Refuse a CSV over the upload cap.

    Raises:
        PayloadTooLarge: ``size`` bytes is over ``MAX_UPLOAD_MB``.
    """
    max_mb = current_app.config.get("MAX_UPLOAD_MB", 200)
    if size > max_mb * 1024 * 1024:
        raise PayloadTooLarge(f"The {what} CSV is larger than the {max_mb} MB this server accepts.",
                              {"max_mb": max_mb, "size_bytes": size})


def store_csv(upload: bytes | IO[bytes] | None, artifact: ModelArtifact, target: str | None = None,
              what: str = "sample") -> StoredCsv | None:
    """Read a run's CSV from ``upload`` (bytes or a binary stream) in chunks into its stored form; None without one.

    Raises:
        SchemaMismatch: the header lacks a feature the model needs (``details.missing``...): refused before the
            rest of the file is read.
        BadRequest: the file is empty, binary or not UTF-8 (UTF-16 with a BOM is read too).
        PayloadTooLarge: the file is over the upload cap.
    """
    stream = io.BytesIO(upload) if isinstance(upload, (bytes, bytearray)) else upload
    head = stream.read(CHUNK) if stream is not None else b""
    if not head:
        return None
    decoder = _Decoder(text_encoding(head))
    text = decoder.decode(head)
    while "\n" not in text and (more := stream.read(CHUNK)):  # a header longer than a chunk
        check_size(decoder.consumed + len(more), what)
        text += decoder.decode(more)
    delimiter = sniff_delimiter(text[:_line_end(text, SNIFF_LINES)])
    body = _line_end(text, 1, quoted=True)
    header = next(csv.reader(io.StringIO(text[:body], newline=""), delimiter=delimiter, skipinitialspace=True), [])
    match = require_match([name.strip() for name in header], artifact.info, target, what) if artifact.info else None
    compressed = tempfile.TemporaryFile()  # noqa: SIM115 - StoredCsv.close closes it
    try:
        with gzip.GzipFile(fileobj=compressed, mode="wb", compresslevel=6, mtime=0) as out:
            out.write(_header_line(header, text[:body], delimiter, match).encode("utf-8"))
            out.write(text[body:].encode("utf-8"))
            del text
            while chunk := stream.read(CHUNK):
                check_size(decoder.consumed + len(chunk), what)
                out.write(decoder.decode(chunk).encode("utf-8"))
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
    except BaseException:
        compressed.close()
        raise
    return StoredCsv(compressed, delimiter, decoder.consumed, match)


def release_freed_memory() -> None:
    """Hand the heap pages freed by a large schema inference back to the system (glibc keeps them in the
    request thread's arena otherwise, and the insert that follows would come on top). A no-op elsewhere."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _line_end(text: str, lines: int, quoted: bool = False) -> int:
    """Where the first ``lines`` lines of ``text`` end (all of it when shorter); ``quoted``: a newline inside a
    quoted field does not end a line."""
    end = 0
    for _ in range(lines):
        end = text.find("\n", end) + 1
        while quoted and end and text.count('"', 0, end) % 2:
            end = text.find("\n", end) + 1
        if not end:
            return len(text)
    return end


def _header_line(header: list[str], line: str, delimiter: str, match: ColumnMatch | None) -> str:
    """The header as stored: the line as sent, or rewritten with the model's names for the matched columns."""
    if match is None or not match.mapped:
        return line
    out = io.StringIO()
    ending = "\r\n" if line.endswith("\r\n") else "\n"
    csv.writer(out, delimiter=delimiter, lineterminator=ending).writerow(
        [match.mapped.get(name.strip(), name.strip()) for name in header])
    return out.getvalue()


class _Decoder:
    """An incremental decoder that counts the bytes it was given and reports a bad byte at its file position."""

    def __init__(self, encoding: str) -> None:
        self.decoder: Any = codecs.getincrementaldecoder(encoding)()
        self.consumed = 0

    def decode(self, chunk: bytes, final: bool = False) -> str:
        pending = len(self.decoder.getstate()[0])
        try:
            text = self.decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise not_utf8(exc.object[exc.start], self.consumed - pending + exc.start) from None
        self.consumed += len(chunk)
        return text
