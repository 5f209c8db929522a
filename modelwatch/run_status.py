"""The states of a run, in ``Run.status`` and in the API: one ``StrEnum``, so each member is its JSON/DB string."""
from __future__ import annotations

from enum import StrEnum


class RunStatus(StrEnum):
    """queued → running → succeeded | failed (a cancelled or lost run is ``failed`` with its error's code)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


ACTIVE = (RunStatus.QUEUED, RunStatus.RUNNING)
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED)
