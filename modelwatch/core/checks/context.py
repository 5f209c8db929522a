"""What every check receives: the model, its introspection, the generated data, the samples and the deadline.

The suite (``core.suite``) builds one per run; each section reads it and returns its part of the Result.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

ProgressFn = Callable[..., None]  # (stage, fraction) or (stage, fraction, section=..., headline=...)


@dataclass
class SuiteContext:
    """Everything a section needs; sections read it and return their part of the Result."""

    model: Any
    info: dict[str, Any]
    schema: dict[str, Any]
    config: dict[str, Any]
    data: pd.DataFrame
    sample: pd.DataFrame | None
    current: pd.DataFrame | None
    target: str | None
    model_size_bytes: int
    deadline: float
    progress: ProgressFn
    results: dict[str, Any] = field(default_factory=dict)

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()
