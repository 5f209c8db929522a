"""WSGI entry point: ``gunicorn wsgi:server``."""
from modelwatch.app import create_app

server = create_app()
