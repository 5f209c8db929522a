"""GET /api/health: is the service and its database up."""
from __future__ import annotations

from flask_smorest import Blueprint

from modelwatch import __version__
from modelwatch.api.schemas import HealthSchema
from modelwatch.services.health import check_health

blp = Blueprint("health", __name__, description="Service health")


@blp.route("/api/health", methods=["GET"])
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database is unavailable")
def health():
    """Status of the service, its database and its executor."""
    body = check_health()
    return {**body, "version": __version__}, 200 if body["status"] == "ok" else 503
