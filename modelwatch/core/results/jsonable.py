"""Make results strict JSON: numpy scalars to Python, NaN and infinities to null (PostgreSQL's JSON refuses them).

Only ``str``/``int``/``float``/``bool``/``None`` leaves survive; any other object becomes its type's name, never
its ``str()``: the default ``repr`` of an object carries a heap address, and a model's objects are untrusted.
"""
from __future__ import annotations

import datetime
import math
from typing import Any

import numpy as np


def to_jsonable(value: Any) -> Any:
    """Return ``value`` with every container walked and every leaf made strict-JSON safe."""
    if isinstance(value, dict):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return type_name(value)


def type_name(value: Any) -> str:
    """What a value is, without anything of its contents: ``<module.Class>``."""
    kind = type(value)
    return f"<{kind.__module__}.{kind.__qualname__}>"


def _key(key: Any) -> str:
    if isinstance(key, np.generic):
        key = key.item()
    return str(key) if key is None or isinstance(key, (bool, int, float, str)) else type_name(key)
