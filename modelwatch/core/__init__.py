"""Pure domain code. Never imports flask, dash or the database, never reads the environment.

Folders in the order a run meets them: ``intake/`` (the file's format, the static scan, allowlisted loading),
``sandbox/`` (where an untrusted model runs), ``model/`` (what a loaded model says, how to call it), ``schema/``
(the feature Schema document), ``data/`` (frames generated from it), ``suite.py`` with ``config.py`` (the run),
``checks/`` with ``drift/`` and ``explain/`` (the Result's sections), ``results/`` (verdict, gates, headlines,
metric rows), ``monitoring/`` (production batches, alerts, webhooks).
"""
