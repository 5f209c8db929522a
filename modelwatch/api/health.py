"""Health endpoints: /api/health (v1), /api/health/live, /api/health/ready, and Prometheus' /metrics."""
from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from modelwatch import __version__
from modelwatch.api.schemas import HealthSchema, LiveSchema, ReadySchema
from modelwatch.models import utcnow
from modelwatch.services import metrics
from modelwatch.services.health import check_health, check_ready, queue_state

blp = Blueprint("health", __name__, description="Service health")


@blp.route("/api/health", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database is unavailable")
def health():
    """Status of the service, its database and its executor."""
    body = check_health()
    return {**body, "version": __version__}, 200 if body["status"] == "ok" else 503


@blp.route("/api/health/live", methods=["GET"])
@blp.response(200, LiveSchema)
def live():
    """The process answers (no I/O): for a liveness probe."""
    return {"status": "ok", "version": __version__}


@blp.route("/api/health/ready", methods=["GET"])
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="The database or the broker is unavailable")
def ready():
    """Can this process take work: database, broker (Celery), the queue's depth and age, the sandbox."""
    body = check_ready()
    return {**body, "version": __version__}, 200 if body["status"] == "ok" else 503


@blp.route("/metrics", methods=["GET"])
@blp.response(200, {"type": "string"}, content_type=metrics.CONTENT_TYPE.split(";")[0],
              description="Prometheus text format")
def prometheus_metrics():
    """Prometheus metrics: runs by status, queue depth and age, durations, sandbox outcomes, HTTP latency."""
    counts, oldest = queue_state()
    return Response(metrics.exposition(counts, oldest, utcnow()), mimetype=metrics.CONTENT_TYPE)
