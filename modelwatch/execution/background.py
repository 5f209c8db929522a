"""This process's background threads, the run executors' runners and the janitor: when they start and stop.

A server process starts them as soon as it is up (gunicorn's ``post_worker_init``, a Celery pool process) or,
without such a hook (the development server, tests), with its first request; never in CLI commands nor at
import. Before the process exits, :func:`shutdown` re-queues the runs it executes.
"""
from __future__ import annotations

from flask import Flask

from modelwatch.execution.executors import EXTENSION_KEY, ThreadExecutor
from modelwatch.execution.recovery import release_own_runs, start_janitor, stop_janitor


def start_background(app: Flask) -> None:
    """Start this process's runners and janitor now (each once per process)."""
    executor = app.extensions[EXTENSION_KEY]
    if isinstance(executor, ThreadExecutor):
        executor.start()
    start_janitor(app)


def start_with_first_request(app: Flask) -> None:
    """Start the runners and the janitor with the first request of a process no server hook started."""
    app.before_request(lambda: start_background(app))


def shutdown(app: Flask) -> list[str]:
    """Before the process exits: take no more runs, queue again the runs it executes and stop their sandboxes."""
    stop_janitor(app)
    executor = app.extensions[EXTENSION_KEY]
    if isinstance(executor, ThreadExecutor):
        executor.stop()
    with app.app_context():
        return release_own_runs()
