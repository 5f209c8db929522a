"""The Upload page in a real browser: the sample's columns are matched live, and settings typed in reach the run."""
from __future__ import annotations

import requests
from selenium.webdriver.support.ui import Select

from tests.support import dumps


def test_settings_typed_on_the_upload_page_reach_the_run(browser, live_server, forest, cancer, tmp_path):
    _, url = live_server
    X, y = cancer
    model_path, sample_path = tmp_path / "settings_forest.pkl", tmp_path / "sample.csv"
    model_path.write_bytes(dumps(forest))
    sample = X.iloc[:40].copy()
    sample.columns = [f"f{i}" for i in range(X.shape[1])]
    sample.assign(label=y.iloc[:40].to_numpy()).to_csv(sample_path, index=False)

    browser.wait_for_page(url=f"{url}/upload")
    browser.find_element("#upload-model-upload input[type=file]").send_keys(str(model_path))
    browser.wait_for_contains_text("#upload-summary-div", "is ready", timeout=60)
    browser.find_element("#upload-sample-upload input[type=file]").send_keys(str(sample_path))
    browser.wait_for_contains_text("#upload-match-div", "30 of the model's 30 features found", timeout=30)
    browser.wait_for_contains_text("#upload-target-dropdown", "label", timeout=10)  # the label column, preselected

    for selector, text in (("#upload-samples-input", "50"), ("#upload-seed-input", "7"),
                           ("#upload-explain-input", "5"), ("#upload-severities-input", "0.5")):
        field = browser.find_element(selector)
        field.clear()
        field.send_keys(text)
    Select(browser.find_element("#upload-generator-select")).select_by_value("copula")
    start = browser.find_element("#upload-start-button")
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", start)
    start.click()
    browser.wait_for_element("#run-progress-bar", timeout=60)
    run_id = browser.driver.current_url.rsplit("/", 1)[-1]
    run = requests.get(f"{url}/api/runs/{run_id}", timeout=30).json()["run"]
    requests.post(f"{url}/api/runs/{run_id}/cancel", timeout=30)  # the settings are what this test is about
    config = run["config"]
    assert (config["n_samples"], config["seed"], config["generator"]) == (50, 7, "copula")
    assert config["explain"]["max_samples"] == 5 and config["drift"]["severities"] == [0.5]
    assert run["target"] == "label"

    # the model stays in this browser session: the Schema page fills from it and hands its schema to a run
    browser.wait_for_page(url=f"{url}/schema")
    browser.wait_for_contains_text("#schema-validation-div", "valid: 30 feature(s)", timeout=30)
    button = browser.find_element("#schema-run-button")
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", button)
    button.click()
    browser.wait_for_contains_text("#upload-schema-div", "schema edited on the Schema page (30 features)", timeout=20)
    browser.wait_for_contains_text("#upload-summary-div", "is ready", timeout=20)  # the model, resumed
    assert browser.find_element("#upload-start-button").is_enabled()
