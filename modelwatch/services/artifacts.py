"""Model intake as a use case: check an upload, store it once per sha256, and inspect it in the sandbox."""
from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePath
from typing import IO

from flask import current_app
from sqlalchemy.exc import IntegrityError

from modelwatch.core import intake
from modelwatch.core.intake.formats import sniff_format
from modelwatch.core.sandbox.runner import Limits, run_task
from modelwatch.errors import BadRequest, NotFound
from modelwatch.extensions import db
from modelwatch.models import ModelArtifact
from modelwatch.services import artifact_store

INSPECT_TIMEOUT_S = 60


def sandbox_limits(timeout_s: float) -> Limits:
    """The sandbox limits for a task of this length, with the operator's memory and result-size caps."""
    return Limits(timeout_s=float(timeout_s), memory_mb=current_app.config["SANDBOX_MEMORY_MB"],
                  max_result_mb=current_app.config["SANDBOX_MAX_RESULT_MB"],
                  trusted=current_app.config["TRUST_PICKLES"])


def store_upload(upload: bytes | IO[bytes], filename: str, name: str | None = None) -> ModelArtifact:
    """Check, store and inspect an uploaded model file; the same bytes are stored and inspected once.

    ``upload`` is the file's bytes or a stream: a stream is copied in chunks into a spooled temporary file and
    hashed on the way, so bytes already stored are never read into memory; new ones are read once, for the
    static scan and the sandbox's inspection, and kept in the artifact store, not in the ORM session.

    Raises:
        PayloadTooLarge, UnsupportedFormat, CorruptModel, UnsafeModel, NotAModel: the upload is refused
            and nothing is stored.
    """
    if not filename:
        raise BadRequest("The model file has no name.", {"field": "model"})
    max_bytes = current_app.config["MAX_UPLOAD_MB"] * 1024 * 1024
    stream = io.BytesIO(upload) if isinstance(upload, (bytes, bytearray)) else upload
    spooled, sha256, size = artifact_store.spool(stream, max_bytes)
    with spooled, _inspection_lock(sha256):  # concurrent uploads of one file share a single sandbox inspection
        artifact = ModelArtifact.query.filter_by(sha256=sha256).one_or_none()
        if artifact is not None:  # these exact bytes already passed the scan and the inspection
            return artifact
        data = spooled.read()
        fmt = sniff_format(data)
        intake.scan(data, fmt, trusted=current_app.config["TRUST_PICKLES"])
        info = run_task("inspect", data, fmt, limits=sandbox_limits(INSPECT_TIMEOUT_S))
        intake.check_feature_count(info, current_app.config["MAX_FEATURES"])
        artifact = ModelArtifact(sha256=sha256, name=display_name(filename, name), filename=PurePath(filename).name,
                                 format=fmt, size=size, data=artifact_store.save(sha256, data), info=info)
        del data
        db.session.add(artifact)
        try:
            db.session.commit()
        except IntegrityError:  # another process stored the same file meanwhile
            db.session.rollback()
            artifact = ModelArtifact.query.filter_by(sha256=sha256).one()
        db.session.expire(artifact, ["data"])  # the bytes do not stay in the session
    return artifact


_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


@contextmanager
def _inspection_lock(sha256: str) -> Iterator[None]:
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(sha256, threading.Lock())
    try:
        with lock:
            yield
    finally:
        with _LOCKS_GUARD:
            _LOCKS.pop(sha256, None)


def display_name(filename: str, name: str | None = None) -> str:
    """A run's name: the one given, else this upload's file name without its extension.

    One stored artifact serves every upload of the same bytes, so the name belongs to the upload, not the file.
    """
    return name or PurePath(filename or "model").stem


def get_artifact(artifact_id: int) -> ModelArtifact:
    """The stored artifact, or NotFound."""
    artifact = db.session.get(ModelArtifact, artifact_id)
    if artifact is None:
        raise NotFound(f"No model with id {artifact_id}.")
    return artifact


def model_block(artifact: ModelArtifact) -> dict:
    """The Run's ``model`` block: the stored file and what the model says of itself."""
    info = artifact.info or {}
    return {
        "name": artifact.name, "filename": artifact.filename, "sha256": artifact.sha256, "format": artifact.format,
        "size_bytes": artifact.size, "type": info.get("type"), "task": info.get("task"),
        "n_features": info.get("n_features"), "feature_names": info.get("feature_names"),
        "classes": info.get("classes"),
        "intake": {k: (info.get("intake") or {}).get(k) for k in ("allowlist_bypassed", "trusted_mode")},
        "sandbox": info.get("sandbox"),
    }
