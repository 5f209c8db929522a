"""Entry point of the Celery run workers, as ``wsgi.py`` is the web's: ``celery -A modelwatch.celery_worker worker``.

The broker is ``MODELWATCH_BROKER_URL``. Each pool process builds its Flask app from the environment, without
the dashboard (a worker serves no pages), and starts its janitor with it.
"""
from __future__ import annotations

from flask import Flask

from modelwatch.app import create_app
from modelwatch.execution.background import start_background
from modelwatch.execution.celery_app import worker_celery
from modelwatch.execution.executors import execute_queued
from modelwatch.settings import from_environment


def build_app() -> Flask:
    """A run worker's Flask app: the environment's settings, no pages, background threads started."""
    settings = from_environment()
    settings.DASHBOARD = False
    app = create_app(settings)
    start_background(app)
    return app


app = worker_celery(build_app, execute_queued)  # the name ``celery -A`` looks for
