"""Decode what dcc.Upload hands a callback (a data URL) into the file's bytes."""
from __future__ import annotations

import base64
import binascii

from modelwatch.errors import BadRequest


def decode_upload(contents: str) -> bytes:
    """``data:<mime>;base64,<payload>`` -> bytes.

    Raises:
        BadRequest: the browser sent something that is not a base64 data URL.
    """
    try:
        _, payload = contents.split(",", 1)
        return base64.b64decode(payload, validate=True)
    except (ValueError, binascii.Error) as exc:
        raise BadRequest("The browser sent the file in a form modelwatch could not read; try again.") from exc
