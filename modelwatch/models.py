"""The database tables: uploaded model artifacts, runs, users, API tokens and the audit trail. ORM only: services
commit."""
from __future__ import annotations

import gzip
import uuid
from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy.types import LargeBinary, TypeDecorator

from modelwatch.extensions import db
from modelwatch.run_status import RunStatus

GZIP_MAGIC = b"\x1f\x8b"


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


class CompressedBinary(TypeDecorator):
    """Bytes stored gzip-compressed (CSV uploads shrink 3-5x); rows written before compression read as they are."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect) -> bytes | None:
        if value is None or value.startswith(GZIP_MAGIC):
            return value
        return gzip.compress(value, compresslevel=6, mtime=0)

    def process_result_value(self, value: bytes | None, dialect) -> bytes | None:
        if value is not None and bytes(value[:2]) == GZIP_MAGIC:
            return gzip.decompress(value)
        return value


class ModelArtifact(db.Model):
    """An uploaded model file, stored once per sha256.

    Its bytes live in the content-addressed artifact store on disk (``data`` NULL) unless the operator keeps
    them in the database (``MODELWATCH_ARTIFACT_STORE=database``, for a single dyno without a shared disk).
    ``data`` is deferred: listing runs never reads model bytes.
    """

    __tablename__ = "model_artifact"

    id = db.Column(db.Integer, primary_key=True)
    sha256 = db.Column(db.String(64), unique=True, nullable=False)
    name = db.Column(db.String(200), nullable=False)
    filename = db.Column(db.String(300), nullable=False)
    format = db.Column(db.String(40), nullable=False)
    size = db.Column(db.BigInteger, nullable=False)
    data = db.deferred(db.Column(db.LargeBinary))
    info = db.Column(db.JSON)  # introspection from the sandbox, cached
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    runs = db.relationship("Run", back_populates="artifact", passive_deletes=True)


class Run(db.Model):
    """One execution of the test suite on an artifact; its row is the state the UI and API poll."""

    __tablename__ = "run"

    id = db.Column(db.String(32), primary_key=True, default=new_run_id)
    artifact_id = db.Column(db.Integer, db.ForeignKey("model_artifact.id", ondelete="CASCADE"), nullable=False,
                            index=True)
    name = db.Column(db.String(200), nullable=False)
    status = db.Column(db.String(20), nullable=False, default=RunStatus.QUEUED, index=True)
    stage = db.Column(db.String(100), nullable=False, default="queued")
    progress = db.Column(db.Float, nullable=False, default=0.0)
    source = db.Column(db.String(10), nullable=False, default="api")
    submitted_by = db.Column(db.String(100))  # the user's name, or the name of an API token without a user
    owner_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="SET NULL"), index=True)  # "delete own runs"
    worker = db.Column(db.String(200))  # host:pid of the process executing it, to find orphans
    target = db.Column(db.String(200))
    sample_csv = db.deferred(db.Column(CompressedBinary))
    current_csv = db.deferred(db.Column(CompressedBinary))
    schema = db.Column(db.JSON)
    config = db.Column(db.JSON)
    result = db.deferred(db.Column(db.JSON))
    gates = db.Column(db.JSON)
    error = db.Column(db.JSON)
    headlines = db.Column(db.JSON)  # section name -> its headline, written as each section finishes
    tags = db.Column(db.JSON)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    heartbeat_at = db.Column(db.DateTime)
    dispatched_at = db.Column(db.DateTime)  # last hand-over to the executor; the sweeper re-sends stale ones
    attempts = db.Column(db.Integer, nullable=False, default=0, server_default="0")  # infrastructure retries
    idempotency_key = db.Column(db.String(200), unique=True)  # sha256 of submitter + Idempotency-Key (24 h)
    deleted_at = db.Column(db.DateTime)  # soft delete: hidden at once, removed by `flask gc`

    artifact = db.relationship("ModelArtifact", back_populates="runs")

    # lists: live runs newest first, read from the index alone (SQLite keeps big values inline with the row)
    __table_args__ = (db.Index("ix_run_list_order", "deleted_at", "created_at", "id"),)


class User(UserMixin, db.Model):
    """A person who signs in to the dashboard; the role says what they may do (modelwatch.auth.permissions)."""

    __tablename__ = "user"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(100), unique=True, nullable=False)
    email = db.Column(db.String(254), unique=True)
    password_hash = db.Column(db.String(200), nullable=False)  # argon2id, with its parameters and salt
    role = db.Column(db.String(20), nullable=False, default="viewer")
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_login_at = db.Column(db.DateTime)

    tokens = db.relationship("ApiToken", back_populates="user", passive_deletes=True)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active


class ApiToken(db.Model):
    """A bearer token for pipelines; only its sha256 is stored. A token without a user is an operator's token."""

    __tablename__ = "api_token"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), unique=True, nullable=False)
    token_hash = db.Column(db.String(64), unique=True, nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    scopes = db.Column(db.JSON)  # ["runs:read", "runs:write", ...]; None on tokens older than scopes: read+write
    expires_at = db.Column(db.DateTime)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime)
    revoked_at = db.Column(db.DateTime)

    user = db.relationship("User", back_populates="tokens")


class AuditEvent(db.Model):
    """Who did what to which run, token or user; written in the same transaction as the change."""

    __tablename__ = "audit_event"

    id = db.Column(db.Integer, primary_key=True)
    at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    actor = db.Column(db.String(120), nullable=False)  # "user:alice", "token:ci", "cli", "local", "system"
    action = db.Column(db.String(40), nullable=False, index=True)  # run.create, run.delete, token.revoke, ...
    target = db.Column(db.String(200), nullable=False)
    details = db.Column(db.JSON)
