"""The REST API (CONTRACT.md): flask-smorest blueprints, bearer tokens on writes, the contract's JSON error body on
every API path, and the OpenAPI document with an interactive page that works offline."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g, jsonify, request, send_from_directory
from flask_smorest import Api
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from modelwatch.api import exports, health, models_api, results, runs, schema_views, webhooks_api
from modelwatch.api.schemas import ErrorEnvelopeSchema
from modelwatch.errors import ModelwatchError
from modelwatch.extensions import db

API_PREFIXES = ("/api/", "/run_tests")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
              413: "payload_too_large", 415: "unsupported_format", 503: "service_unavailable"}
SWAGGER_UI_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"
SWAGGER_UI_URL = "/api/docs/static/"
API_DESCRIPTION = (
    "Test a trained model file over HTTP: latency, robustness, quality, drift and SHAP, with a pass/fail verdict "
    "from `config.thresholds` (gates). Every error body is `{\"error\": {\"code\", \"message\", \"details\"}}`. "
    "Write endpoints need `Authorization: Bearer <token>` when the server runs with `MODELWATCH_AUTH=required` "
    "(create one with `flask --app wsgi tokens create --name ci`)."
)


def error_response(code: str, message: str, status: int, details: dict | None = None):
    return jsonify({"error": {"code": code, "message": message, "details": details or {}}}), status


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """webargs' nested messages as ``{"config.n_samples": [reasons]}``."""
    if isinstance(messages, dict):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix: [str(m) for m in messages] if isinstance(messages, list) else [str(messages)]}


class ContractApi(Api):
    """flask-smorest's Api with the contract's error body instead of its own."""

    ERROR_SCHEMA = ErrorEnvelopeSchema

    def handle_http_exception(self, error: HTTPException):
        if not request.path.startswith(API_PREFIXES):
            return error  # pages keep Werkzeug's own error pages
        messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
        if messages is not None:  # webargs found invalid fields: a malformed request, not a 422
            fields = {loc: msgs for loc, msgs in messages.items()}
            flat = {path.split(".", 1)[-1]: reasons for path, reasons in _flatten(messages).items()}
            first, reasons = next(iter(flat.items()))
            more = f" (and {len(flat) - 1} more)" if len(flat) > 1 else ""
            message = f"Invalid field {first}: {reasons[0].rstrip('.')}{more}."
            return error_response("bad_request", message, 400, {"fields": fields})
        status = error.code or 500
        code = HTTP_CODES.get(status, "internal_error" if status >= 500 else "bad_request")
        return error_response(code, error.description or error.name, status)


def handle_modelwatch_error(error: ModelwatchError):
    return error_response(error.code, error.message, error.status, error.details)


def handle_database_down(error: Exception):
    """The database is unreachable: a clean 503 (never a 500), so that clients retry later."""
    db.session.rollback()
    current_app.logger.warning("database unavailable: %s", str(error).splitlines()[0][:200])
    message = "The database is unavailable; nothing was stored. Try again later."
    if request.path.startswith(API_PREFIXES):
        return error_response("service_unavailable", message, 503)
    return message, 503


def require_token():
    """Write endpoints need a bearer token when ``AUTH`` is ``required``; a token sent anyway is always checked
    (a wrong one is a 401, never silently ignored), and its name is recorded on the runs it submits."""
    if request.method not in WRITE_METHODS or not request.path.startswith(API_PREFIXES):
        return None
    header = request.headers.get("Authorization")
    if header is None and current_app.config.get("AUTH", "optional") != "required":
        return None
    from modelwatch.services.tokens import authenticate

    g.token_name = authenticate(header).name
    return None


def register_api(app: Flask) -> ContractApi:
    """Bind the API to the app: blueprints, auth, the JSON error body, the docs, a JSON 404 for unknown paths."""
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", SWAGGER_UI_URL)
    app.config.setdefault("API_SPEC_OPTIONS", {"info": {"description": API_DESCRIPTION}})
    api = ContractApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "a token from `flask tokens create`"})
    for blueprint in (runs.blp, health.blp, schema_views.blp, exports.blp, results.blp, models_api.blp,
                      webhooks_api.blp):
        api.register_blueprint(blueprint)
    _document_auth_and_outages(api)
    app.before_request(require_token)
    app.register_error_handler(ModelwatchError, handle_modelwatch_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(InterfaceError, handle_database_down)
    app.add_url_rule(SWAGGER_UI_URL + "<path:filename>", "api_docs_static", _docs_static, methods=["GET"])
    app.add_url_rule("/api/", "api_not_found", _not_found, methods=["GET"])
    app.add_url_rule("/api/<path:path>", "api_not_found", _not_found, methods=["GET"])
    return api


def _document_auth_and_outages(api: ContractApi) -> None:
    """Every write operation (whichever blueprint adds it) takes the bearer token and may answer 401; every
    operation may answer 503 when the database is down: say so in the document, as ``require_token`` does."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
    for operations in api.spec._paths.values():  # apispec keeps registered paths here; there is no public getter
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if method.upper() in WRITE_METHODS:
                operation.setdefault("security", [{"bearerAuth": []}])
                responses.setdefault("401", {"description": "unauthorized: the token is missing or wrong", **error})
            responses.setdefault("503", {"description": "service_unavailable: the database is unavailable", **error})


def _docs_static(filename: str):
    """swagger-ui's files, vendored from the npm registry: the docs page needs no network."""
    return send_from_directory(SWAGGER_UI_DIR, filename, max_age=86400)


def _not_found(path: str = ""):
    """Unknown GET paths under /api/ answer JSON, not the dashboard's catch-all page."""
    return error_response("not_found", f"No API endpoint at /api/{path}.", 404)
