"""The tables of a model's life: registered models and their versions, production batches (compact profiles,
never raw feature rows), alert rules and their events, webhooks and their delivery log. ORM only: services commit."""
from __future__ import annotations

from modelwatch.extensions import db
from modelwatch.models import utcnow


class RegisteredModel(db.Model):
    """A model known by name across its versions; ``champion_version_id`` is set only by a user's choice."""

    __tablename__ = "registered_model"

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(200), unique=True, nullable=False)
    description = db.Column(db.Text)
    owner = db.Column(db.String(100))
    champion_version_id = db.Column(db.Integer)  # no foreign key: the two tables would reference each other
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    versions = db.relationship("ModelVersion", back_populates="model", foreign_keys="ModelVersion.model_id",
                               order_by="ModelVersion.number", passive_deletes=True)


class ModelVersion(db.Model):
    """One artifact registered under a model: its reference sample (the drift reference) and schema."""

    __tablename__ = "model_version"
    __table_args__ = (db.UniqueConstraint("model_id", "number"), db.UniqueConstraint("model_id", "artifact_id"))

    id = db.Column(db.Integer, primary_key=True)
    model_id = db.Column(db.Integer, db.ForeignKey("registered_model.id", ondelete="CASCADE"), nullable=False)
    number = db.Column(db.Integer, nullable=False)
    artifact_id = db.Column(db.Integer, db.ForeignKey("model_artifact.id", ondelete="CASCADE"), nullable=False)
    reference_csv = db.Column(db.LargeBinary)
    target = db.Column(db.String(200))
    schema = db.Column(db.JSON)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)

    model = db.relationship("RegisteredModel", back_populates="versions", foreign_keys=[model_id])
    artifact = db.relationship("ModelArtifact")


class MonitorBatch(db.Model):
    """One production batch compared with the champion's reference: summary columns for the over-time views, the
    compact profile for detail, and (when ids and predictions came) the id -> prediction pairs late labels join."""

    __tablename__ = "monitor_batch"
    __table_args__ = (db.Index("ix_monitor_batch_model_time", "model_id", "batch_time", "id"),)

    id = db.Column(db.Integer, primary_key=True)
    model_id = db.Column(db.Integer, db.ForeignKey("registered_model.id", ondelete="CASCADE"), nullable=False)
    version_id = db.Column(db.Integer, db.ForeignKey("model_version.id", ondelete="SET NULL"))
    batch_time = db.Column(db.DateTime, nullable=False)
    received_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    n_rows = db.Column(db.Integer, nullable=False)
    share_drifted = db.Column(db.Float, nullable=False)
    dataset_drift = db.Column(db.Boolean, nullable=False)
    # what the over-time views read, kept in plain columns so that 10,000 batches load in milliseconds:
    drift_flags = db.Column(db.Text, nullable=False)  # "1"/"0" per feature, in sorted feature order
    prediction_mean = db.Column(db.Float)
    prediction_drift = db.Column(db.Float)  # the prediction drift test's statistic
    quality = db.Column(db.JSON)  # {metric: value} once labels exist
    summary = db.deferred(db.Column(db.JSON, nullable=False))  # per-feature drift, missing shares, prediction
    profile = db.deferred(db.Column(db.JSON, nullable=False))  # per-column statistics and tests
    predictions = db.deferred(db.Column(db.LargeBinary))  # zlib JSON {"id": [...], "prediction": [...]}
    labels = db.deferred(db.Column(db.LargeBinary))  # zlib JSON {"id": [...], "label": [...]}, joined so far


class AlertRule(db.Model):
    """``<metric path> <op> <value>`` on each batch (or run) of a model; fires once after ``consecutive`` hits."""

    __tablename__ = "alert_rule"

    id = db.Column(db.Integer, primary_key=True)
    model_id = db.Column(db.Integer, db.ForeignKey("registered_model.id", ondelete="CASCADE"), nullable=False)
    source = db.Column(db.String(10), nullable=False, default="batch")  # batch | run
    metric = db.Column(db.String(200), nullable=False)
    op = db.Column(db.String(4), nullable=False)
    value = db.Column(db.JSON, nullable=False)
    consecutive = db.Column(db.Integer, nullable=False, default=1)
    streak = db.Column(db.Integer, nullable=False, default=0)
    firing = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class AlertEvent(db.Model):
    """A rule that started firing: what it saw and where."""

    __tablename__ = "alert_event"

    id = db.Column(db.Integer, primary_key=True)
    rule_id = db.Column(db.Integer, db.ForeignKey("alert_rule.id", ondelete="CASCADE"), nullable=False)
    model_id = db.Column(db.Integer, db.ForeignKey("registered_model.id", ondelete="CASCADE"), nullable=False)
    batch_id = db.Column(db.Integer)
    run_id = db.Column(db.String(32))
    value = db.Column(db.JSON)
    message = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class Webhook(db.Model):
    """A destination for alert events (an allowed URL), its signing secret and body format."""

    __tablename__ = "webhook"

    id = db.Column(db.Integer, primary_key=True)
    url = db.Column(db.String(2000), nullable=False)
    secret = db.Column(db.String(200), nullable=False)
    format = db.Column(db.String(10), nullable=False, default="json")  # json | slack
    model_name = db.Column(db.String(200))  # None: every model
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)


class WebhookDelivery(db.Model):
    """One event sent (or being sent) to one webhook: attempts, last answer, outcome."""

    __tablename__ = "webhook_delivery"

    id = db.Column(db.Integer, primary_key=True)
    webhook_id = db.Column(db.Integer, db.ForeignKey("webhook.id", ondelete="CASCADE"), nullable=False, index=True)
    event_id = db.Column(db.Integer, db.ForeignKey("alert_event.id", ondelete="SET NULL"))
    body = db.Column(db.Text, nullable=False)
    status = db.Column(db.String(12), nullable=False, default="pending")  # pending | delivered | failed
    attempts = db.Column(db.Integer, nullable=False, default=0)
    last_status_code = db.Column(db.Integer)
    last_error = db.Column(db.Text)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    finished_at = db.Column(db.DateTime)
