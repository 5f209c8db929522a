"""One way for every blueprint to document the contract's error body on the statuses a view can answer."""
from __future__ import annotations

from collections.abc import Callable

from flask_smorest import Blueprint

from modelwatch.api.schemas import ErrorEnvelopeSchema


def error_responses(blp: Blueprint, descriptions: dict[int, str] | None = None) -> Callable[..., Callable]:
    """``errors(*statuses)`` for views of ``blp``: each status documented with the error body (and its description).

    Args:
        blp: the blueprint whose views are decorated.
        descriptions: status -> which error codes it carries, shown in the OpenAPI document.
    """
    def errors(*statuses: int) -> Callable:
        def decorate(func: Callable) -> Callable:
            for status in statuses:
                func = blp.alt_response(status, schema=ErrorEnvelopeSchema,
                                        description=(descriptions or {}).get(status))(func)
            return func
        return decorate
    return errors
