"""Waits for browser tests: poll the API for a run's terminal state (a generous ceiling, never a fixed sleep), and
keep a CPU hog busy while a test watches a page under load."""
from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from selenium.common.exceptions import StaleElementReferenceException

TERMINAL = ("succeeded", "failed")


def wait_for_run(url: str, run_id: str, ceiling_s: float = 300.0) -> tuple[dict, float]:
    """Poll the run's row in ``GET /api/runs`` (no Result: a cheap request) until the run has finished.

    Returns:
        The run (without its Result) and the ``time.monotonic()`` at which the API first said it had finished.
    """
    deadline = time.monotonic() + ceiling_s
    while time.monotonic() < deadline:
        rows = requests.get(f"{url}/api/runs", params={"limit": 20}, timeout=30).json()["runs"]
        run = next((r for r in rows if r["id"] == run_id), None)
        if run is not None and run["status"] in TERMINAL:
            return run, time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not finish within {ceiling_s:g} s")


def wait_until(condition, what: str, ceiling_s: float = 30.0):
    """Poll ``condition`` until it returns something truthy (returned), or fail saying ``what`` did not happen.

    An element the page re-rendered between finding and reading it (Dash replaces a callback's output) is read
    again at the next poll."""
    deadline = time.monotonic() + ceiling_s
    while time.monotonic() < deadline:
        try:
            found = condition()
        except StaleElementReferenceException:
            found = None
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {ceiling_s:g} s")


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@contextmanager
def cpu_hog(processes: int = 2, max_seconds: float = 60.0) -> Iterator[None]:
    """Busy loops in ``processes`` processes, stopped on exit and bounded by ``max_seconds`` whatever happens."""
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_spin, args=(max_seconds,), daemon=True) for _ in range(processes)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        for worker in workers:
            worker.terminate()
            worker.join(timeout=5)
