"""The database tables: uploaded model artifacts, runs, and API tokens. ORM only: services commit."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

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
    submitted_by = db.Column(db.String(100))  # the API token's name, when one was used
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


class ApiToken(db.Model):
    """A bearer token for pipelines; only its sha256 is stored."""

    __tablename__ = "api_token"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(100), unique=True, nullable=False)
    token_hash = db.Column(db.String(64), unique=True, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime)
    revoked_at = db.Column(db.DateTime)


from modelwatch import models_monitoring  # noqa: E402,F401  (its tables belong to the same metadata)
