"""Every role against every route and every Dash callback, generated from Flask's route table and Dash's callback
map: a route or callback without a declared permission fails here, and each one is allowed or refused as
``modelwatch.auth.declarations`` says (``MODELWATCH_AUTH=required``)."""
from __future__ import annotations

import re

import pytest

from modelwatch.auth.declarations import CALLBACKS, ENDPOINTS, callback_key
from modelwatch.auth.permissions import ANONYMOUS, PUBLIC, allowed, user_principal
from tests.auth.accounts import ROLES, auth_required, csrf_header, ensure_user, sign_in, token_for

# the two forms that check their own CSRF token (tests/auth/test_sessions.py covers them)
OWN_FORMS = {"auth.login", "auth.logout"}
DASH_CALLBACK = "/_dash-update-component"


@pytest.fixture(scope="module")
def secured(live_server):
    app, _ = live_server
    with auth_required(app):
        for role in ROLES:
            ensure_user(app, f"matrix-{role}", role)
        tokens = {role: token_for(app, f"matrix-{role}", f"matrix-{role}-token") for role in ROLES}
        sessions = {}
        for role in ROLES:
            client = app.test_client()
            assert sign_in(client, f"matrix-{role}").status_code == 302
            assert client.get("/history").status_code == 200  # the page sets the CSRF cookie; Dash sets itself up
            sessions[role] = client
        yield app, tokens, sessions


def principal(role: str | None):
    return user_principal(0, f"matrix-{role}", role) if role else ANONYMOUS


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def server_callbacks(app):
    for output, entry in app.extensions["dash"].callback_map.items():
        function = entry.get("callback")
        if function is not None:  # clientside callbacks never reach the server
            yield output, callback_key(function.__module__, function.__qualname__)


def test_every_route_and_every_callback_declares_a_permission(secured):
    app, _, _ = secured
    assert sorted({rule.endpoint for rule, _ in routes(app)} - set(ENDPOINTS)) == []
    callbacks = dict(server_callbacks(app))
    assert len(callbacks) >= 20
    assert sorted(key for key in callbacks.values() if key not in CALLBACKS) == []


def test_every_role_on_every_route(secured):
    app, tokens, _ = secured
    client = app.test_client()
    served = app.extensions["dash"].registered_paths  # Dash refuses unknown packages with an exception
    values = {"package_name": "dash", "fingerprinted_path": sorted(served["dash"])[0]}
    checked = 0
    for rule, method in routes(app):
        if rule.endpoint in OWN_FORMS or rule.endpoint == DASH_CALLBACK:
            continue
        path = re.sub(r"<(?:([^:<>]+):)?([^<>]+)>",
                      lambda m: values.get(m.group(2), "0" if m.group(1) == "int" else "nope"), rule.rule)
        permission = ENDPOINTS[rule.endpoint]
        for role in (None, *ROLES):
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            status = client.open(path, method=method, headers=headers).status_code
            where = f"{method} {rule.rule} as {role or 'anonymous'} ({permission})"
            if allowed(principal(role), permission):
                assert status not in (401, 403), where
            elif role is None:
                assert status in (302, 401) if rule.endpoint in ("/", "/<path:path>") else status == 401, where
            else:
                assert status == 403, where
            checked += 1
    assert checked > 100


def test_every_role_on_every_callback(secured):
    """Refused: 401/403 naming the permission. Allowed: the gate lets it through to the CSRF check (a wrong token
    is sent, so that no callback runs with made-up inputs)."""
    app, _, sessions = secured
    anonymous = app.test_client()
    for output, key in server_callbacks(app):
        permission = CALLBACKS[key]
        body = {"output": output, "outputs": [], "inputs": [], "changedPropIds": [], "state": []}
        answer = anonymous.post(DASH_CALLBACK, json=body)
        assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized", key
        for role in ROLES:
            answer = sessions[role].post(DASH_CALLBACK, json=body, headers={"X-CSRFToken": "wrong"})
            details = answer.get_json()["error"]["details"]
            assert answer.status_code == 403, key
            if allowed(principal(role), permission):
                assert details == {"header": "X-CSRFToken"}, f"{key} as {role}: {details}"
            else:
                assert details["needs"] == permission, f"{key} as {role}"


def test_a_session_callback_with_its_csrf_header_runs(secured):
    app, _, sessions = secured
    viewer = sessions["viewer"]
    body = {"output": "history-runs-grid.dashGridOptions", "outputs": {"id": "history-runs-grid",
                                                                      "property": "dashGridOptions"},
            "inputs": [{"id": "history-filter-input", "property": "value", "value": "x"}],
            "state": [{"id": "history-runs-grid", "property": "dashGridOptions", "value": {}}],
            "changedPropIds": ["history-filter-input.value"]}
    answer = viewer.post(DASH_CALLBACK, json=body, headers=csrf_header(viewer))
    assert answer.status_code == 200 and "quickFilterText" in answer.get_data(as_text=True)
    assert viewer.post(DASH_CALLBACK, json=body).status_code == 403  # the same, replayed without the header
    assert viewer.post(DASH_CALLBACK, json={**body, "output": "no-such.output"},
                       headers=csrf_header(viewer)).status_code == 403  # no such callback


def test_public_means_public(secured):
    app, _, _ = secured
    client = app.test_client()
    for endpoint, permission in ENDPOINTS.items():
        assert permission == PUBLIC or not allowed(ANONYMOUS, permission), endpoint
    assert client.get("/api/health").status_code in (200, 503)
    assert client.get("/login").status_code == 200
