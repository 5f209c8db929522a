"""Typed errors shared by every layer; plain Python so that core may raise them too."""
from __future__ import annotations

from typing import Any


class ModelwatchError(Exception):
    """An error a person can act on: a code, one sentence, details and an HTTP status."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


def _error(code: str, status: int, doc: str) -> type[ModelwatchError]:
    return type(code.title().replace("_", ""), (ModelwatchError,), {"code": code, "status": status, "__doc__": doc})


BadRequest = _error("bad_request", 400, "The request or one of its files is malformed.")
Unauthorized = _error("unauthorized", 401, "A token is missing or wrong.")
NotFound = _error("not_found", 404, "No such resource.")
MethodNotAllowed = _error("method_not_allowed", 405, "The method is not allowed on this path.")
PayloadTooLarge = _error("payload_too_large", 413, "The upload is larger than the server accepts.")
UnsupportedFormat = _error("unsupported_format", 415, "The file is not a model format modelwatch reads.")
CorruptModel = _error("corrupt_model", 422, "The model file is damaged or truncated.")
UnsafeModel = _error("unsafe_model", 422, "The model file would import code outside the allowlist.")
NotAModel = _error("not_a_model", 422, "The file loads but holds no estimator that predicts.")
SchemaMismatch = _error("schema_mismatch", 422, "The schema does not fit the model's inputs.")
RunTimeout = _error("run_timeout", 422, "The run went over its time limit.")
ModelError = _error("model_error", 422, "The model raised while it was called.")
ResourceLimit = _error("resource_limit", 422, "The model went over a resource limit of the sandbox.")
ServiceUnavailable = _error("service_unavailable", 503, "A server the service needs is unavailable.")
Forbidden = _error("forbidden", 403, "The caller is known but lacks the permission this needs.")
ModelCrashed = _error("model_crashed", 422, "The sandboxed process died of a signal other than a resource limit.")
UnsupportedModel = _error("unsupported_model", 422, "The file is read but holds a model modelwatch cannot test.")
DatabaseUnavailable = _error("database_unavailable", 503, "The database did not answer in time.")
RateLimited = _error("rate_limited", 429, "Too many requests from this user, token or address; retry later.")

BY_CODE: dict[str, type[ModelwatchError]] = {
    cls.code: cls
    for cls in (BadRequest, Unauthorized, NotFound, MethodNotAllowed, PayloadTooLarge, UnsupportedFormat,
                CorruptModel, UnsafeModel, NotAModel, SchemaMismatch, RunTimeout, ModelError, ResourceLimit,
                ServiceUnavailable, Forbidden, ModelCrashed, UnsupportedModel, DatabaseUnavailable, RateLimited)
}


def from_dict(error: dict[str, Any]) -> ModelwatchError:
    """Rebuild a typed error from its JSON form (as it crosses the sandbox boundary)."""
    cls = BY_CODE.get(error.get("code", ""), ModelwatchError)
    return cls(error.get("message", "Unknown error."), error.get("details") or {})
