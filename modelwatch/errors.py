"""Typed errors shared by every layer, one class per error code; plain Python so that core may raise them too."""
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


class BadRequest(ModelwatchError):
    """The request or one of its files is malformed."""

    code = "bad_request"
    status = 400


class Unauthorized(ModelwatchError):
    """A token is missing or wrong."""

    code = "unauthorized"
    status = 401


class NotFound(ModelwatchError):
    """No such resource."""

    code = "not_found"
    status = 404


class MethodNotAllowed(ModelwatchError):
    """The method is not allowed on this path."""

    code = "method_not_allowed"
    status = 405


class PayloadTooLarge(ModelwatchError):
    """The upload is larger than the server accepts."""

    code = "payload_too_large"
    status = 413


class UnsupportedFormat(ModelwatchError):
    """The file is not a model format modelwatch reads."""

    code = "unsupported_format"
    status = 415


class CorruptModel(ModelwatchError):
    """The model file is damaged or truncated."""

    code = "corrupt_model"
    status = 422


class UnsafeModel(ModelwatchError):
    """The model file would import code outside the allowlist."""

    code = "unsafe_model"
    status = 422


class NotAModel(ModelwatchError):
    """The file loads but holds no estimator that predicts."""

    code = "not_a_model"
    status = 422


class SchemaMismatch(ModelwatchError):
    """The schema does not fit the model's inputs."""

    code = "schema_mismatch"
    status = 422


class RunTimeout(ModelwatchError):
    """The run went over its time limit."""

    code = "run_timeout"
    status = 422


class ModelError(ModelwatchError):
    """The model raised while it was called."""

    code = "model_error"
    status = 422


class ResourceLimit(ModelwatchError):
    """The model went over a resource limit of the sandbox."""

    code = "resource_limit"
    status = 422


class ServiceUnavailable(ModelwatchError):
    """A server the service needs is unavailable."""

    code = "service_unavailable"
    status = 503


class Forbidden(ModelwatchError):
    """The caller is known but lacks the permission this needs."""

    code = "forbidden"
    status = 403


class ModelCrashed(ModelwatchError):
    """The sandboxed process died of a signal other than a resource limit."""

    code = "model_crashed"
    status = 422


class UnsupportedModel(ModelwatchError):
    """The file is read but holds a model modelwatch cannot test."""

    code = "unsupported_model"
    status = 422


class DatabaseUnavailable(ModelwatchError):
    """The database did not answer in time."""

    code = "database_unavailable"
    status = 503


class RateLimited(ModelwatchError):
    """Too many requests from this user, token or address; retry later."""

    code = "rate_limited"
    status = 429


class RunNotFinished(ModelwatchError):
    """The run is still queued or running; what was asked needs a finished run."""

    code = "run_not_finished"
    status = 409


class Cancelled(ModelwatchError):
    """The run was cancelled (or deleted) before it finished."""

    code = "cancelled"
    status = 409


class WorkerLost(ModelwatchError):
    """The process executing the run was lost, and the run's attempts are spent."""

    code = "worker_lost"
    status = 503


class InternalError(ModelwatchError):
    """modelwatch itself failed (a bug): the run ended, never left running."""

    code = "internal_error"
    status = 500


ERROR_CLASSES: tuple[type[ModelwatchError], ...] = (
    BadRequest,
    Unauthorized,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedFormat,
    CorruptModel,
    UnsafeModel,
    NotAModel,
    SchemaMismatch,
    RunTimeout,
    ModelError,
    ResourceLimit,
    ServiceUnavailable,
    Forbidden,
    ModelCrashed,
    UnsupportedModel,
    DatabaseUnavailable,
    RateLimited,
    RunNotFinished,
    Cancelled,
    WorkerLost,
    InternalError,
)
BY_CODE: dict[str, type[ModelwatchError]] = {cls.code: cls for cls in ERROR_CLASSES}


def from_dict(error: dict[str, Any]) -> ModelwatchError:
    """Rebuild a typed error from its JSON form (as it crosses the sandbox boundary)."""
    cls = BY_CODE.get(error.get("code", ""), ModelwatchError)
    return cls(error.get("message", "Unknown error."), error.get("details") or {})
