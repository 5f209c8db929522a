"""Where model bytes live: a content-addressed directory (``<ARTIFACT_DIR>/<sha256>``) or the database.

On disk by default, so that rows stay small and a list of runs never drags model files through the web
process. A single dyno without a shared disk keeps them in the database instead
(``MODELWATCH_ARTIFACT_STORE=database``). Celery workers on other hosts need the same directory (a shared
volume) or the database store.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO

from flask import current_app

from modelwatch.errors import NotFound, PayloadTooLarge
from modelwatch.extensions import db
from modelwatch.models import ModelArtifact

CHUNK = 1024 * 1024
SPOOL_IN_MEMORY = 8 * 1024 * 1024  # smaller uploads stay in memory, larger ones go to a temporary file


def artifact_dir() -> Path:
    """The store's directory (created on first use)."""
    folder = Path(current_app.config.get("ARTIFACT_DIR") or Path(current_app.instance_path) / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def in_database() -> bool:
    return current_app.config.get("ARTIFACT_STORE", "disk") == "database"


def spool(stream: IO[bytes], max_bytes: int) -> tuple[IO[bytes], str, int]:
    """Copy an upload into a spooled temporary file in chunks, hashing on the way.

    Returns the file (rewound), its sha256 and its size.

    Raises:
        PayloadTooLarge: more than ``max_bytes`` arrived (reading stops there).
    """
    spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 - the caller closes it
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        size += len(chunk)
        if size > max_bytes:
            spooled.close()
            raise PayloadTooLarge(f"The model file is larger than the {max_bytes // (1024 * 1024)} MB this server "
                                  "accepts.", {"max_mb": max_bytes // (1024 * 1024)})
        digest.update(chunk)
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, digest.hexdigest(), size


def save(sha256: str, data: bytes) -> bytes | None:
    """Keep the bytes; returns what goes into ``ModelArtifact.data`` (None when they went to disk)."""
    if in_database():
        return data
    path = artifact_dir() / sha256
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{sha256}.")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)  # atomic: a reader never sees half a file
    return None


def load(artifact: ModelArtifact) -> bytes:
    """The model file's bytes, from wherever they were stored.

    Raises:
        NotFound: neither the row nor the store holds them (the store was wiped or is not shared).
    """
    data = db.session.query(ModelArtifact.data).filter(ModelArtifact.id == artifact.id).scalar()
    if data is not None:
        return bytes(data)
    path = artifact_dir() / artifact.sha256
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise NotFound(f"The model file {artifact.sha256[:12]} is missing from the artifact store ({path.parent}).",
                       {"sha256": artifact.sha256}) from exc


def remove(sha256: str) -> None:
    """Delete the stored file of an artifact that is gone from the database."""
    (artifact_dir() / sha256).unlink(missing_ok=True)

