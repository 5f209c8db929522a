"""gunicorn settings read by `gunicorn wsgi:server`: loopback by default, PORT honoured, bounded waits.

Waits are capped (``MODELWATCH_MAX_WAIT_S``, 25 s) below routers' 30 s and hold at most ``MODELWATCH_WAIT_SLOTS``
threads of a worker, so health checks always find a free thread. Each worker starts its runners and janitor
as soon as it is up, and re-queues its in-flight runs when it is stopped (deploys, dyno cycling).
"""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"  # a request may wait for its run (?wait=), and run threads live in the worker
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 120  # above the capped wait (25 s) and a large upload's intake
graceful_timeout = 25  # below Heroku's 30 s between SIGTERM and SIGKILL: in-flight runs are re-queued first
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", f"/tmp/modelwatch-gunicorn-{bind.rsplit(':', 1)[1]}.ctl")
accesslog = None  # the app writes one JSON access line per request, with its request id


def post_fork(server, worker):
    """Start this worker's warm sandbox process before the worker imports the app, so that the two import on both
    cores at once (one after the other, a restarted worker took ~4 s, then ~5 s, before its runs were warm)."""
    from modelwatch.core.sandbox import runner as sandbox
    from modelwatch.core.sandbox.privileges import SandboxUnavailable
    from modelwatch.settings import Settings, configure_sandbox

    try:
        configure_sandbox(vars(Settings))
    except SandboxUnavailable:
        return  # the app refuses to start, and says why
    sandbox.warm_up(wait=False)


def post_worker_init(worker):
    """Start this worker's runners and janitor now, not with the first request (and the warm sandbox process, had it
    not started in ``post_fork`` or died since)."""
    from modelwatch.core.sandbox import runner as sandbox
    from modelwatch.execution.background import start_background

    start_background(worker.wsgi)
    sandbox.warm_up(wait=False)


def worker_exit(server, worker):
    """Stopped (SIGTERM, a deploy): queue again the runs this worker executes and stop their sandboxes."""
    from modelwatch.execution.background import shutdown

    released = shutdown(worker.wsgi)
    if released:
        server.log.warning("re-queued %d in-flight run(s) on shutdown: %s", len(released), ", ".join(released))
