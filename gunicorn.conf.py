"""gunicorn settings read by `gunicorn wsgi:server`: loopback by default, PORT honoured, long waits allowed."""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"  # a request may wait for its run (?wait=), and run threads live in the worker
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 660  # above the API's longest wait (600 s)
graceful_timeout = 30


def post_worker_init(worker):
    """Start this worker's warm sandbox process now, so the first upload does not wait for it."""
    from modelwatch.core import sandbox

    sandbox.warm_up()
