"""WSGI entry point: ``gunicorn wsgi:server``."""
from modelwatch import create_app

server = create_app()
