"""Webhooks as pure functions: the body, the destination allowlist, and the signature
``X-Modelwatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`` with ``X-Modelwatch-Timestamp``, so a
receiver can check who sent a body and refuse replays of old ones."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Modelwatch-Signature"
TIMESTAMP_HEADER = "X-Modelwatch-Timestamp"
DEFAULT_TOLERANCE_S = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for this body sent at ``timestamp`` (Unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float,
           tolerance_s: float = DEFAULT_TOLERANCE_S) -> bool:
    """The receiver's check: the signature matches and the timestamp is recent (the documented recipe)."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature or "")


def destination_allowed(url: str, allowlist: list[str]) -> bool:
    """Whether ``url`` starts with an allowed prefix: same scheme, host and port, and the prefix's path.

    Compared on parsed parts, so ``http://allowed.example@evil/`` or ``http://allowed.example.evil/`` never pass.
    """
    target = urlsplit(url)
    if target.scheme not in ("http", "https") or not target.hostname or target.username or target.password:
        return False
    for prefix in allowlist:
        allowed = urlsplit(prefix.strip())
        same_origin = (allowed.scheme, allowed.hostname, allowed.port) == (target.scheme, target.hostname, target.port)
        if same_origin and (target.path or "/").startswith(allowed.path or "/"):
            return True
    return False


def body(event: dict[str, Any], fmt: str) -> bytes:
    """The request body: the event as JSON, or a Slack-compatible ``{"text": ...}`` message."""
    if fmt == "slack":
        text = f":rotating_light: modelwatch alert on *{event['model']}*: {event['message']}"
        return json.dumps({"text": text, "modelwatch": event}, separators=(",", ":")).encode()
    return json.dumps(event, separators=(",", ":")).encode()
