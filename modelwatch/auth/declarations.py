"""THE place where every REST endpoint and every Dash callback declares the permission it needs.

The gate (``modelwatch.auth.gate``) lets only admins (and the local user of ``MODELWATCH_AUTH=none``) call an
endpoint or callback missing here, and ``tests/auth/test_matrix.py`` fails for every route or callback without a
line, so a new one cannot ship open.

- REST and Flask routes: key = the Flask endpoint name (``flask routes`` shows it; a flask-smorest view is
  ``"<blueprint name>.<function name>"``).
- Dash callbacks: key = ``"<module>.<function>"`` with the module as in the source tree (``pages.history``,
  ``modelwatch.dashboard.sections.explainability``). Clientside callbacks never reach the server: no line.
"""
from __future__ import annotations

from modelwatch.auth.permissions import ADMIN, BATCHES, DELETE_RUN, PUBLIC, READ, WRITE

ENDPOINTS: dict[str, str] = {
    # Flask, the API document, health, login
    "static": PUBLIC,
    "api-docs.openapi_json": PUBLIC,
    "api-docs.openapi_swagger_ui": PUBLIC,
    "api_docs_static": PUBLIC,
    "api_not_found": PUBLIC,
    "health.health": PUBLIC,
    "health.live": PUBLIC,  # probes of the platform: process up
    "health.ready": PUBLIC,  # probes of the platform: database, broker, queue, sandbox
    "health.prometheus_metrics": READ,  # a scraper sends a runs:read token
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    # runs
    "runs.submit": WRITE,
    "runs.submit_alias": WRITE,
    "runs.list_runs": READ,
    "runs.get_run": READ,
    "runs.delete_run": DELETE_RUN,  # the view checks the run's owner too
    "exports.report_html": READ,
    "exports.report_json": READ,
    "exports.metrics_csv": READ,
    "exports.data_csv": READ,
    "exports.cancel": WRITE,
    "exports.set_tags": WRITE,
    "schema.infer": WRITE,  # stores the model it is sent
    "schema.generate": READ,  # computes and stores nothing, like the schema page's preview
    "results.result_section": READ,
    "what_if.what_if": WRITE,  # runs the run's model again in the sandbox (stores nothing)
    "audit.list_events": ADMIN,
    # registered models and monitoring
    "models.list_models": READ,
    "models.get_model": READ,
    "models.list_batches": READ,
    "models.list_alerts": READ,
    "models.update_model": WRITE,
    "models.set_champion": WRITE,
    "models.create_alert": WRITE,
    "models.delete_alert": WRITE,
    "models.delete_alert_by_query": WRITE,
    "models.post_batch": BATCHES,
    "models.post_labels": BATCHES,
    "webhooks.list_webhooks": ADMIN,
    "webhooks.create_webhook": ADMIN,
    "webhooks.delete_webhook": ADMIN,
    "webhooks.delete_webhook_by_query": ADMIN,
    "webhooks.list_deliveries": ADMIN,
    # the Dash app: static files, then the page shell and its data
    "_dash_assets.static": PUBLIC,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": PUBLIC,
    "/_favicon.ico": PUBLIC,
    "/_dash-layout": READ,
    "/_dash-dependencies": READ,
    "/_reload-hash": READ,
    "/": READ,
    "/<path:path>": READ,
    "/_dash-update-component": READ,  # then each callback's own line below
}

CALLBACKS: dict[str, str] = {
    "dash.dash.Dash.enable_pages.<locals>.router_sync.<locals>.update": READ,  # renders the page for a URL
    "pages.home.refresh": READ,
    "pages.home.try_examples": WRITE,
    "pages.upload.store_model": WRITE,
    "pages.upload.keep_sample": WRITE,
    "pages.upload.start_run": WRITE,
    "pages.upload.resume_model": WRITE,  # the Upload page is an editor's: its helpers share its permission
    "pages.upload.preview_sample": WRITE,
    "pages.upload.keep_current": WRITE,
    "pages.upload.edit_gates": WRITE,
    "pages.upload.gate_paths": WRITE,
    "pages.upload.schema_note": WRITE,
    "pages.upload.clear_schema": WRITE,
    "pages.schema.allow_run": READ,
    "pages.schema.run_with_schema": READ,  # hands the schema to the Upload page, which needs WRITE to start
    "pages.schema.load_schema": READ,
    "pages.schema.add_or_remove": READ,  # edits the page's own store, nothing on the server
    "pages.schema.validate": READ,
    "pages.schema.show_preview": READ,
    "pages.schema.export_json": READ,
    "pages.schema.download_data": READ,
    "pages.run.poll": READ,
    "pages.run.show_finished": READ,
    "pages.run.open_tab": READ,
    "pages.run.cancel": WRITE,
    "pages.monitoring.show": READ,
    "pages.history.refresh": READ,
    "pages.history.quick_filter": READ,
    "pages.history.compare_link": READ,
    "pages.history.delete_selected": WRITE,  # and each run's owner, checked in the callback
    "pages.history.tag_selected": WRITE,
    "pages.history.chart": READ,
    "pages.compare.update": READ,
    "modelwatch.dashboard.sections.explainability.show_sample": READ,
    "modelwatch.dashboard.sections.drift.sort_columns": READ,  # re-orders rows already on the page
    "modelwatch.dashboard.sections.drift.show_column": READ,  # draws from the page's own store
    "modelwatch.dashboard.sections.explainability.load_what_if_row": READ,
    "modelwatch.dashboard.sections.explainability.show_dependence": READ,
    "modelwatch.dashboard.sections.explainability.predict_what_if": WRITE,  # runs the model again in the sandbox
    "modelwatch.dashboard.sections.quality.apply_cutoff": READ,
    "modelwatch.dashboard.sections.quality.show_residual_feature": READ,
    "pages.users.refresh": ADMIN,
    "pages.users.create_user": ADMIN,
    "pages.users.change_role": ADMIN,
    "pages.users.create_token": ADMIN,
    "pages.users.revoke_token": ADMIN,
    "pages.audit.refresh": ADMIN,
}


def callback_key(module: str, qualname: str) -> str:
    """The CALLBACKS key of a function: Dash imports pages under a name built from their absolute path
    (``modelwatch.work.main.pages.history``), so the part from ``pages.`` on is what stays the same."""
    if ".pages." in f".{module}":
        module = "pages." + f".{module}".split(".pages.", 1)[1]
    return f"{module}.{qualname}"
