"""JSON logs with the request id and the run id on every line, and one access line per request.

The ids travel in context variables: a request sets ``request_id`` (from ``X-Request-ID`` when a router sent
one, else a new one; echoed in the answer), and whatever executes a run sets ``run_id`` for its duration,
so every line logged meanwhile, by any module, carries them. ``MODELWATCH_LOG_FORMAT=text`` keeps plain text.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime

from flask import Flask, g, request

from modelwatch.services import metrics

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
run_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("run_id", default=None)
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "run_id"}
access_log = logging.getLogger("modelwatch.access")


class ContextFilter(logging.Filter):
    """Adds the current request id and run id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.run_id = getattr(record, "run_id", None) or run_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the ids, and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
                "request_id": getattr(record, "request_id", None), "run_id": getattr(record, "run_id", None)}
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


@contextmanager
def run_context(current: str) -> Iterator[None]:
    """Tag every log line written inside with this run's id."""
    token = run_id.set(current)
    try:
        yield
    finally:
        run_id.reset(token)


def configure_logging(fmt: str = "json", level: str = "INFO") -> None:
    """Send the root logger to stdout through the context filter (once per process)."""
    root = logging.getLogger()
    if any(getattr(h, "_modelwatch", False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stdout)
    handler._modelwatch = True  # marks ours, so that a second app in the same process adds no twin
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [req=%(request_id)s run=%(run_id)s] %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)


def init_request_logging(app: Flask) -> None:
    """Give each request an id (echoed as ``X-Request-ID``) and write one access line when it ends."""

    @app.before_request
    def _start() -> None:
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if _SAFE_ID.match(sent) else uuid.uuid4().hex
        g.request_token = request_id.set(g.request_id)
        g.request_started = time.perf_counter()

    @app.after_request
    def _finish(response):
        started = g.pop("request_started", None)
        if started is not None:
            seconds = time.perf_counter() - started
            response.headers["X-Request-ID"] = g.request_id
            metrics.http_request(request.method, request.url_rule.rule if request.url_rule else "unmatched",
                                 response.status_code, seconds)
            access_log.info("%s %s %s", request.method, request.path, response.status_code,
                            extra={"method": request.method, "path": request.path, "status": response.status_code,
                                   "duration_ms": round(seconds * 1000, 1)})
        return response

    @app.teardown_request
    def _reset(_error=None) -> None:
        token = g.pop("request_token", None)
        if token is not None:
            with suppress(ValueError):  # set in another context (a streamed response): nothing to undo here
                request_id.reset(token)
