"""The run page in a real browser: the elapsed timer ticks while it runs, Cancel stops it, exports download."""
from __future__ import annotations

import json

import requests

from tests.e2e.waiting import wait_until
from tests.support import QUICK_DIABETES_CONFIG, dumps


def _post(url: str, model: bytes, name: str, config: dict, wait: int = 0) -> dict:
    response = requests.post(f"{url}/run_tests?wait={wait}", files={"model": (f"{name}.pkl", model)},
                             data={"name": name, "config": json.dumps(config)}, timeout=300)
    assert response.status_code in (200, 202), response.text
    return response.json()["run"]


def test_a_running_run_shows_a_ticking_timer_and_can_be_cancelled(browser, live_server, forest):
    _, url = live_server
    run = _post(url, dumps(forest), "to be cancelled", {"n_samples": 2000, "batch_sizes": [1, 10, 100, 1000]})
    browser.wait_for_page(url=f"{url}/runs/{run['id']}")
    browser.wait_for_element("#run-cancel-button", timeout=30)
    first = wait_until(lambda: browser.find_element("#run-elapsed-text").text, "the elapsed time shows")
    assert "so far" in first
    wait_until(lambda: browser.find_element("#run-elapsed-text").text != first,  # in the browser, between polls
               "the timer ticks", ceiling_s=10)
    browser.find_element("#run-cancel-button").click()
    browser.wait_for_contains_text("#run-status-badge", "failed", timeout=15)
    browser.wait_for_contains_text("#run-error-alert", "cancelled", timeout=15)
    assert not browser.driver.find_elements("css selector", "#run-cancel-button")
    body = requests.get(f"{url}/api/runs/{run['id']}", timeout=10).json()["run"]
    assert body["status"] == "failed" and body["error"]["code"] == "cancelled"


def test_a_finished_run_offers_its_exports(browser, live_server, diabetes_regressor):
    _, url = live_server
    run = _post(url, dumps(diabetes_regressor), "exports", QUICK_DIABETES_CONFIG, wait=120)
    assert run["status"] == "succeeded"
    browser.wait_for_page(url=f"{url}/runs/{run['id']}")
    browser.wait_for_element("#run-result-tabs", timeout=30)
    for link_id, path in (("run-download-report-html", "report.html?download=1"), ("run-download-report-json",
                          "report.json"), ("run-download-metrics-csv", "metrics.csv"),
                          ("run-download-data-csv", "data.csv")):
        href = browser.find_element(f"#{link_id}").get_attribute("href")
        assert href.endswith(f"/api/runs/{run['id']}/{path}")
        response = requests.get(href, timeout=60)
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
