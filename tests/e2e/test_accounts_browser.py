"""Accounts in a real browser with ``MODELWATCH_AUTH=required``: sign-in, a viewer's pages without write controls,
a forged callback from the viewer's session, a replayed cookie without the CSRF header, the sign-in rate limit."""
from __future__ import annotations

import pytest
import requests

from tests.auth.accounts import PASSWORD, auth_required, ensure_user

DELETE_OUTPUT_PREFIX = "..history-feedback-div.children@"


@pytest.fixture
def secured(live_server):
    app, url = live_server
    with auth_required(app):
        ensure_user(app, "browser-viewer", "viewer")
        yield app, url


def sign_in(browser, username: str, password: str = PASSWORD) -> None:
    """Fill the sign-in form of the page the browser is on."""
    browser.wait_for_element("#login-username-input", timeout=30)
    browser.find_element("#login-username-input").clear()
    browser.find_element("#login-username-input").send_keys(username)
    browser.find_element("#login-password-input").send_keys(password)
    browser.find_element("#login-submit-button").click()


def test_a_viewer_sees_no_write_controls_and_cannot_forge_one(browser, secured):
    app, url = secured
    browser.driver.get(f"{url}/history")
    browser.wait_for_element("#login-form", timeout=30)  # redirected to sign in
    sign_in(browser, "browser-viewer")
    browser.wait_for_element("#history-runs-grid .ag-root", timeout=30)  # back where they were going
    browser.wait_for_contains_text("#shell-user-menu", "browser-viewer · viewer", timeout=10)
    for control in ("#history-delete-button", "#history-tag-button"):
        assert not browser.driver.find_elements("css selector", control)
    navbar = browser.find_element("#shell-navbar").text
    assert "Upload" not in navbar and "Users" not in navbar and "Audit" not in navbar

    browser.driver.get(f"{url}/upload")
    browser.wait_for_element("#upload-forbidden-alert", timeout=30)
    assert not browser.driver.find_elements("css selector", "#upload-model-upload")
    browser.driver.get(f"{url}/")
    browser.wait_for_element("#home-recent-list", timeout=30)
    assert not browser.driver.find_elements("css selector", "#home-example-button")
    blocked = [entry["message"] for entry in browser.get_logs() or [] if "Content Security Policy" in entry["message"]]
    assert blocked == []  # the CSP lets Dash, Plotly and AG Grid work

    # the delete callback, forged from the viewer's own page: session cookie and CSRF header, wrong role
    output = next(k for k in app.extensions["dash"].callback_map if k.startswith(DELETE_OUTPUT_PREFIX))
    status = browser.driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const token = document.cookie.split('; ').find(c => c.startsWith('_csrf_token=')).split('=')[1];
        fetch('/_dash-update-component', {method: 'POST', credentials: 'same-origin',
              headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
              body: JSON.stringify({output: arguments[0], outputs: [], changedPropIds: [],
                                    inputs: [{id: 'history-delete-confirm', property: 'submit_n_clicks', value: 1}],
                                    state: []})})
          .then(r => r.json().then(body => done([r.status, body.error.code])));
    """, output)
    assert status == [403, "forbidden"]

    # the session cookie replayed by another client, without the page's CSRF header
    cookies = {c["name"]: c["value"] for c in browser.driver.get_cookies()}
    replay = requests.post(f"{url}/_dash-update-component", cookies={"session": cookies["session"]}, timeout=10,
                           json={"output": "history-runs-grid.dashGridOptions", "outputs": [], "inputs": [],
                                 "changedPropIds": [], "state": []})
    assert replay.status_code == 403 and replay.json()["error"]["details"] == {"header": "X-CSRFToken"}
    assert requests.get(f"{url}/api/runs", cookies={"session": cookies["session"]}, timeout=10).status_code == 200


def test_five_wrong_passwords_rate_limit_the_sign_in(browser, secured):
    _, url = secured
    browser.driver.get(f"{url}/login")
    for _ in range(5):
        sign_in(browser, "browser-viewer", "wrong password!")
        browser.wait_for_contains_text("#login-message", "Wrong username or password", timeout=10)
    sign_in(browser, "browser-viewer")
    browser.wait_for_contains_text("#login-message", "Too many failed sign-ins", timeout=10)
