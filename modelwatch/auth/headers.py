"""Security headers on every answer: a Content-Security-Policy per kind of page, nosniff, a referrer policy, no
framing, and HSTS when cookies are Secure (production, behind TLS)."""
from __future__ import annotations

from flask import Flask, Response, current_app, request

# Dash: its one inline script (``new DashRenderer()``) is allowed by hash (Dash.csp_hashes); Plotly and the
# Dash components set inline styles; Plotly draws images from data: URLs
DASH_POLICY = ("default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
               "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# the exported report is self-contained (inline Plotly and data): sandboxed, so its scripts get no origin, no
# cookies and no API
REPORT_POLICY = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; "
                 "img-src data: blob:; font-src data:; sandbox allow-scripts allow-downloads allow-popups; "
                 "frame-ancestors 'none'")
# swagger-ui's page starts it with one inline script
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'"


def _policy() -> str:
    endpoint = request.endpoint or ""
    if endpoint == "exports.report_html":
        return REPORT_POLICY
    if endpoint == "api-docs.openapi_swagger_ui":
        return DOCS_POLICY
    if request.path.startswith(("/api/", "/run_tests")):
        return API_POLICY
    dash_app = current_app.extensions.get("dash")
    hashes = " ".join(dash_app.csp_hashes()) if dash_app is not None else ""
    return DASH_POLICY.format(hashes=hashes)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy())
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def init_headers(app: Flask) -> None:
    app.after_request(add_security_headers)
