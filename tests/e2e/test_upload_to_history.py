"""The first-slice flow in a real browser: upload a model, start a run, see its result, find it in History."""
from __future__ import annotations

from tests.e2e.waiting import wait_for_run
from tests.support import dumps


def test_upload_run_result_history(browser, live_server, forest, tmp_path):
    _, url = live_server
    model_path = tmp_path / "cancer_forest.pkl"
    model_path.write_bytes(dumps(forest))

    browser.wait_for_page(url=f"{url}/upload")
    browser.find_element("#upload-model-upload input[type=file]").send_keys(str(model_path))
    browser.wait_for_contains_text("#upload-summary-div", "is ready", timeout=60)
    assert "RandomForestClassifier" in browser.find_element("#upload-summary-div").text
    samples = browser.find_element("#upload-samples-input")
    samples.clear()
    samples.send_keys("200")
    start = browser.find_element("#upload-start-button")
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", start)
    start.click()

    browser.wait_for_element("#run-progress-bar", timeout=60)
    assert "/runs/" in browser.driver.current_url
    run_id = browser.driver.current_url.rsplit("/", 1)[-1]
    run, _ = wait_for_run(url, run_id, ceiling_s=300)  # the API says when it has finished; the page follows
    assert run["status"] == "succeeded", run["error"]
    browser.wait_for_contains_text("#run-status-badge", "succeeded", timeout=10)
    browser.wait_for_element("#run-result-tabs")
    tabs = browser.driver.find_elements("css selector", "#run-result-tabs .nav-link")
    next(tab for tab in tabs if tab.text == "Performance").click()
    browser.wait_for_element("#run-latency-graph .main-svg", timeout=30)

    browser.wait_for_page(url=f"{url}/history")
    browser.wait_for_contains_text("#history-runs-grid", "cancer_forest", timeout=30)
    link = browser.driver.find_element("css selector", f"#history-runs-grid a[href='/runs/{run_id}']")
    assert link.text == "cancer_forest"
