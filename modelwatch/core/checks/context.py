"""What every check receives: the model, its introspection, the generated data, the samples and the deadline.

The suite (``core.suite``) builds one per run; each section reads it and returns its part of the Result.
"""
from __future__ import annotations

import threading
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
    pending: set[str] = field(default_factory=set)  # sections the suite will still put in ``results``
    waiting: int = 0  # sections waiting in ``result_of``
    span: tuple[float, float] = (0.0, 1.0)  # the part of the run's progress the section(s) computing now fill
    clock: dict[str, tuple[float, float]] = field(default_factory=dict)  # section -> monotonic start and end
    _ready: threading.Condition = field(default_factory=threading.Condition, repr=False, compare=False)

    def seconds_left(self) -> float:
        return self.deadline - time.monotonic()

    def step(self, stage: str, share: float) -> None:
        """A stage within the section computing now, ``share`` (0 to 1) of the way through it: the run's progress
        moves within the section's part (``span``), so a long section's bar moves too."""
        low, high = self.span
        self.progress(stage, low + min(max(share, 0.0), 1.0) * (high - low))

    def publish(self, name: str, section: dict[str, Any] | None) -> None:
        """Put a finished section in ``results`` and wake the sections waiting for it (``result_of``)."""
        with self._ready:
            self.results[name] = section
            self.pending.discard(name)
            self._ready.notify_all()

    def result_of(self, name: str) -> Any:
        """Section ``name``'s result, waited for while it is pending (at most until the deadline); None when it
        is not part of the run or did not finish in time."""
        with self._ready:
            self.waiting += 1
            self._ready.notify_all()
            try:
                self._ready.wait_for(lambda: name not in self.pending, timeout=max(self.seconds_left(), 0.0))
            finally:
                self.waiting -= 1
            return self.results.get(name)

    def wait_idle(self, name: str) -> None:
        """Until every pending section but ``name`` waits for another's result (``result_of``), or the deadline."""
        with self._ready:
            self._ready.wait_for(lambda: len(self.pending - {name}) <= self.waiting,
                                 timeout=max(self.seconds_left(), 0.0))

    def release_waiters(self) -> None:
        """Nothing more will be published (the suite is done, or failed): wake every ``result_of``."""
        with self._ready:
            self.pending.clear()
            self._ready.notify_all()
