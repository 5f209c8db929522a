"""The database tables: uploaded model artifacts, runs, users, API tokens and the audit trail. ORM only: services
commit."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask_login import UserMixin

from modelwatch.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


class ModelArtifact(db.Model):
    """An uploaded model file, stored once per sha256 with its bytes (a single dyno keeps them)."""

    __tablename__ = "model_artifact"

    id = db.Column(db.Integer, primary_key=True)
    sha256 = db.Column(db.String(64), unique=True, nullable=False)
    name = db.Column(db.String(200), nullable=False)
    filename = db.Column(db.String(300), nullable=False)
    format = db.Column(db.String(40), nullable=False)
    size = db.Column(db.BigInteger, nullable=False)
    data = db.Column(db.LargeBinary, nullable=False)
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
    status = db.Column(db.String(20), nullable=False, default="queued", index=True)
    stage = db.Column(db.String(100), nullable=False, default="queued")
    progress = db.Column(db.Float, nullable=False, default=0.0)
    source = db.Column(db.String(10), nullable=False, default="api")
    submitted_by = db.Column(db.String(100))  # the user's name, or the name of an API token without a user
    owner_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="SET NULL"), index=True)  # "delete own runs"
    worker = db.Column(db.String(200))  # host:pid of the process executing it, to find orphans
    target = db.Column(db.String(200))
    sample_csv = db.Column(db.LargeBinary)
    current_csv = db.Column(db.LargeBinary)
    schema = db.Column(db.JSON)
    config = db.Column(db.JSON)
    result = db.Column(db.JSON)
    gates = db.Column(db.JSON)
    error = db.Column(db.JSON)
    tags = db.Column(db.JSON)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    started_at = db.Column(db.DateTime)
    finished_at = db.Column(db.DateTime)
    heartbeat_at = db.Column(db.DateTime)

    artifact = db.relationship("ModelArtifact", back_populates="runs")


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
