"""The REST API (CONTRACT.md): flask-smorest blueprints, the contract's JSON error body on every API path, and the
OpenAPI document with an interactive page that works offline. Who may call what: modelwatch.auth (the gate)."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, current_app, jsonify, request, send_from_directory
from flask_smorest import Api
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from modelwatch.api import audit, exports, health, models_api, results, runs, schema_views, webhooks_api, what_if
from modelwatch.api.schemas import ErrorEnvelopeSchema
from modelwatch.auth.declarations import ENDPOINTS
from modelwatch.auth.permissions import PUBLIC
from modelwatch.errors import (
    BadRequest,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    ModelwatchError,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedFormat,
)
from modelwatch.extensions import db

API_PREFIXES = ("/api/", "/run_tests")
# the code of a Werkzeug HTTP error (a 404 route, a 405 method...) is that of our class for its status
HTTP_CODES = {cls.status: cls.code for cls in (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed,
                                                PayloadTooLarge, UnsupportedFormat, RateLimited, ServiceUnavailable)}
SWAGGER_UI_DIR = Path(__file__).resolve().parent / "static" / "swagger-ui"
SWAGGER_UI_URL = "/api/docs/static/"
API_DESCRIPTION = (
    "Test a trained model file over HTTP: latency, robustness, quality, drift and SHAP, with a pass/fail verdict "
    "from `config.thresholds` (gates). Every error body is `{\"error\": {\"code\", \"message\", \"details\"}}`. "
    "With `MODELWATCH_AUTH=required` every endpoint but health and this document needs "
    "`Authorization: Bearer <token>` with the scope it names (`runs:read`, `runs:write`, `admin`); create one with "
    "`flask --app wsgi tokens create --name ci`. A 401 names the scheme in `WWW-Authenticate`; a 403 `forbidden` "
    "means the token lacks the scope."
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


def _str_keys(value):
    if isinstance(value, dict):
        return {str(key): _str_keys(item) for key, item in value.items()}
    return value


class ContractApi(Api):
    """flask-smorest's Api with the contract's error body instead of its own."""

    ERROR_SCHEMA = ErrorEnvelopeSchema

    def handle_http_exception(self, error: HTTPException):
        if not request.path.startswith(API_PREFIXES):
            return error  # pages keep Werkzeug's own error pages
        messages = getattr(error, "data", {}).get("messages") if hasattr(error, "data") else None
        if messages is not None:  # webargs found invalid fields: a malformed request, not a 422
            fields = _str_keys(messages)  # webargs keys list items by int: JSON with sorted keys needs strings
            flat = {path.split(".", 1)[-1]: reasons for path, reasons in _flatten(messages).items()}
            first, reasons = next(iter(flat.items()))
            more = f" (and {len(flat) - 1} more)" if len(flat) > 1 else ""
            message = f"Invalid field {first}: {reasons[0].rstrip('.')}{more}."
            return error_response(BadRequest.code, message, BadRequest.status, {"fields": fields})
        status = error.code or 500
        code = HTTP_CODES.get(status, InternalError.code if status >= 500 else BadRequest.code)
        return error_response(code, error.description or error.name, status)


def handle_modelwatch_error(error: ModelwatchError):
    body, status = error_response(error.code, error.message, error.status, error.details)
    if status == 401:  # RFC 6750: say which scheme; name the problem when a token was sent
        sent = request.headers.get("Authorization") is not None
        body.headers["WWW-Authenticate"] = 'Bearer realm="modelwatch"' + (', error="invalid_token"' if sent else "")
    return body, status


def handle_database_down(error: Exception):
    """The database is unreachable: a clean 503 (never a 500), so that clients retry later."""
    db.session.rollback()
    current_app.logger.warning("database unavailable: %s", str(error).splitlines()[0][:200])
    message = "The database is unavailable; nothing was stored. Try again later."
    if request.path.startswith(API_PREFIXES):
        return error_response(ServiceUnavailable.code, message, ServiceUnavailable.status)
    return message, 503


def register_api(app: Flask) -> ContractApi:
    """Bind the API to the app: blueprints, auth, the JSON error body, the docs, a JSON 404 for unknown paths."""
    app.config.setdefault("OPENAPI_SWAGGER_UI_PATH", "docs")
    app.config.setdefault("OPENAPI_SWAGGER_UI_URL", SWAGGER_UI_URL)
    app.config.setdefault("API_SPEC_OPTIONS", {"info": {"description": API_DESCRIPTION}})
    api = ContractApi(app)
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer",
                                                       "description": "a token from `flask tokens create`"})
    for blueprint in (runs.blp, health.blp, schema_views.blp, exports.blp, results.blp, models_api.blp,
                      webhooks_api.blp, audit.blp, what_if.blp):
        api.register_blueprint(blueprint)
    _document_auth_and_outages(app, api)
    app.register_error_handler(ModelwatchError, handle_modelwatch_error)
    app.register_error_handler(OperationalError, handle_database_down)
    app.register_error_handler(InterfaceError, handle_database_down)
    app.add_url_rule(SWAGGER_UI_URL + "<path:filename>", "api_docs_static", _docs_static, methods=["GET"])
    app.add_url_rule("/api/", "api_not_found", _not_found, methods=["GET"])
    app.add_url_rule("/api/<path:path>", "api_not_found", _not_found, methods=["GET"])
    return api


def _endpoints_by_operation(app: Flask) -> dict[tuple[str, str], str]:
    """``("/api/runs/{run_id}", "delete") -> "runs.delete_run"``: the gate's declarations are by endpoint."""
    found = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            found[(path, method.lower())] = rule.endpoint
    return found


def _document_auth_and_outages(app: Flask, api: ContractApi) -> None:
    """Every operation that is not public takes the bearer token (optional when auth is off) and may answer
    401/403, as the gate does; every operation may answer 503 when the database is down."""
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}}}
    security = [{"bearerAuth": []}] if app.config.get("AUTH") == "required" else [{"bearerAuth": []}, {}]
    endpoints = _endpoints_by_operation(app)
    for path, operations in api.spec._paths.items():  # apispec keeps registered paths here; no public getter
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            if ENDPOINTS.get(endpoints.get((path, method), ""), "") != PUBLIC:
                operation["security"] = security
                responses.setdefault("401", {"description": "unauthorized: no session or token, or a wrong one",
                                             **error})
                responses.setdefault("403", {"description": "forbidden: the caller lacks the permission", **error})
            responses.setdefault("503", {"description": "service_unavailable: the database is unavailable", **error})


def _docs_static(filename: str):
    """swagger-ui's files, vendored from the npm registry: the docs page needs no network."""
    return send_from_directory(SWAGGER_UI_DIR, filename, max_age=86400)


def _not_found(path: str = ""):
    """Unknown GET paths under /api/ answer JSON, not the dashboard's catch-all page."""
    return error_response("not_found", f"No API endpoint at /api/{path}.", 404)
