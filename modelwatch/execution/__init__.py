"""Where and when runs execute: executors (inline, threads, Celery), the queue (the runs table), recovery.

Infrastructure below the use cases: it never imports ``services`` use cases, ``api``, the pages or the app. The
work itself (``services.runs.execute_claimed``) is handed in by the application factory (``init_executor``).
"""
