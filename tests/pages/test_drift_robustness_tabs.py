"""The Drift and Robustness tabs in a real browser, on a 30-feature breast-cancer model with drifted current data:
the Drift tab leads with its widgets and one row per column, sorted, that opens onto its distribution, and fits
its summary and top rows in one 1440x900 screen; the Robustness tab shows the outcomes with their legend."""
from __future__ import annotations

import json

import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.support.wait import WebDriverWait

# The tabs' callbacks must be registered before the app serves its first request (Dash reads its global callback
# list once); importing here, at collection time, guarantees that for the shared live server.
import modelwatch.dashboard.sections.drift as drift_tab
import modelwatch.dashboard.sections.robustness as robustness_tab
from modelwatch.core.checks import robustness
from modelwatch.core.drift import section as drift_section
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.extensions import db
from modelwatch.figures.drift_overview import column_rows, sort_rows
from modelwatch.models import ModelArtifact, Run, utcnow
from tests.core.suite_context import make_context

CEILING_S = 60  # generous: the machine may be busy; every wait returns as soon as the state is there
DRIFTED = ("mean radius", "worst area")


@pytest.fixture(scope="module")
def cancer_result(cancer, frame_logistic):
    X, y = cancer
    picked = X.sample(300, random_state=0)
    reference = picked.reset_index(drop=True)
    current = X.drop(index=X.index[:300]).head(200).reset_index(drop=True)
    for name in DRIFTED:
        current[name] = current[name] * 1.6
    ctx = make_context(frame_logistic, reference, sample=reference.assign(target=y.loc[picked.index].to_numpy()),
                       target="target", current=current,
                       drift={"kinds": ["mean_shift", "missing"], "severities": [0.5, 2.0], "resamples": 2,
                              "features": list(X.columns[:12])})
    sections = {"drift": drift_section.compute(ctx), "robustness": robustness.compute(ctx)}
    return ctx.info, json.loads(json.dumps(to_jsonable({
        "schema": ctx.schema, "data": {"n_samples": 300, "seed": 0, "generator": "independent"},
        "performance": {"skipped": "not part of this test"}, **sections})))


@pytest.fixture(scope="module")
def run_id(live_server, cancer_result) -> str:
    app, _ = live_server
    info, result = cancer_result
    with app.app_context():
        artifact = ModelArtifact(sha256="d" * 64, name="drift-tabs", filename="tabs.pkl", format="pickle", size=1,
                                 data=b"-", info=info)
        run = Run(artifact=artifact, name="drift-tabs", status="succeeded", stage="done", progress=1.0, source="ui",
                  result=result, started_at=utcnow(), finished_at=utcnow())
        db.session.add_all([artifact, run])
        db.session.commit()
        return run.id


def _until(browser, condition, what: str):
    """Wait for ``condition(driver)`` to be truthy; a re-render mid-check just means "look again"."""
    def check(driver):
        try:
            return condition(driver)
        except (StaleElementReferenceException, WebDriverException):
            return False
    return WebDriverWait(browser.driver, CEILING_S, poll_frequency=0.2,
                         ignored_exceptions=()).until(check, message=what)


def _open_tab(browser, url: str, run_id: str, label: str, ready: str) -> None:
    """Open the run page and click the tab until its body is there (the first poll may re-render the tabs)."""
    browser.wait_for_page(url=f"{url}/runs/{run_id}")

    def opened(driver):
        if driver.find_elements("css selector", ready):
            return True
        tab = next(t for t in driver.find_elements("css selector", "#run-result-tabs .nav-link") if t.text == label)
        tab.click()
        return bool(driver.find_elements("css selector", ready))
    _until(browser, opened, f"the {label} tab did not open")


def _row_features(driver) -> list[str]:
    return [s.get_attribute("id") and json.loads(s.get_attribute("id"))["index"]
            for s in driver.find_elements("css selector", f"#{drift_tab.COLUMNS} summary")]


@pytest.fixture(scope="module")
def expected(cancer_result):
    rows = column_rows(cancer_result[1]["drift"])
    return {by: [r["feature"] for r in sort_rows(rows, by)] for by in ("drift", "impact")}


def test_drift_tab_leads_with_widgets_sorted_rows_that_open_onto_their_distribution(browser, live_server, run_id,
                                                                                    expected):
    _, url = live_server
    browser.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                   {"width": 1440, "height": 900, "deviceScaleFactor": 1, "mobile": False})
    _open_tab(browser, url, run_id, "Drift", "#run-drift-widgets")
    driver = browser.driver
    widgets = driver.find_element("css selector", "#run-drift-widgets").text
    assert "of 30" in widgets and "Dataset drift" in widgets and "Reacts most to" in widgets
    assert "Breaking point" in widgets and "rule: at least 50% of columns drift" in widgets

    # one row per column, the drifted ones first, in the order of their drift score
    _until(browser, lambda d: _row_features(d) == expected["drift"], "rows are not sorted by drift score")
    assert set(expected["drift"][:2]) == set(DRIFTED) and len(expected["drift"]) == 30
    first = driver.find_element("css selector", f"#{drift_tab.COLUMNS} summary")
    assert "drift" in first.text and "Kolmogorov" in first.text

    # the summary and the top rows fit one 1440x900 screen, page scrolled to the top
    driver.execute_script("window.scrollTo(0, 0)")
    bottoms = driver.execute_script(
        "return [document.querySelector('#run-drift-widgets').getBoundingClientRect().bottom,"
        " Array.from(document.querySelectorAll('#run-drift-columns summary')).slice(0, 5)"
        ".map(e => e.getBoundingClientRect().bottom), window.innerHeight]")
    widgets_bottom, rows_bottom, height = bottoms
    assert widgets_bottom < height and max(rows_bottom) <= height, bottoms

    # sorting by impact re-orders the rows
    driver.find_element("css selector", f"#{drift_tab.SORT_RADIO} input[value='impact']").click()
    _until(browser, lambda d: _row_features(d) == expected["impact"], "rows are not sorted by impact")

    # a click on a drifted column opens it onto its reference-vs-current distribution
    target = DRIFTED[0]
    summary = next(s for s in driver.find_elements("css selector", f"#{drift_tab.COLUMNS} summary")
                   if json.loads(s.get_attribute("id"))["index"] == target)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", summary)
    _until(browser, lambda d: any(f"{target}: reference vs current" in t.text for t in d.find_elements(
        "css selector", f"#{drift_tab.COLUMNS} details[open] .gtitle")), "the column's plot did not open")
    names = {t.text for t in driver.find_elements("css selector", f"#{drift_tab.COLUMNS} details[open] .legendtext")}
    assert {"reference", "current"} <= names

    # the top scenarios by impact are listed; every other one waits behind a filterable, paginated table
    top = driver.find_elements("css selector", "#run-drift-top-scenarios tbody tr")
    assert len(top) == drift_tab.TOP_SCENARIOS and top[0].text.startswith("all features · mean_shift")
    everything = driver.find_element("css selector", "#run-drift-all-scenarios summary")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", everything)
    _until(browser, lambda d: 0 < len(d.find_elements(
        "css selector", f"#{drift_tab.SCENARIOS_GRID} .ag-center-cols-container .ag-row")) <= 20,
        "the table of every scenario did not open onto its first page")


def test_robustness_tab_shows_the_outcomes_with_a_legend(browser, live_server, run_id, cancer_result):
    _, url = live_server
    _open_tab(browser, url, run_id, "Robustness", f"#{robustness_tab.LEGEND}")
    driver = browser.driver
    legend = driver.find_element("css selector", f"#{robustness_tab.LEGEND}").text
    for label in ("rejected with a clear error", "silently degraded", "crashed on valid input"):
        assert label in legend
    counts = cancer_result[1]["robustness"]["outcomes"]
    assert counts["rejected"] > 0  # the logistic regression refuses NaN, infinities and strings
    rejected = driver.find_element("css selector", "#run-robustness-rejected-card").text
    assert str(counts["rejected"]) in rejected and "correct behaviour" in rejected
    assert "nan" in driver.find_element("css selector", f"#{robustness_tab.KINDS_TABLE}").text
    # the map's legend names the outcomes, and the case table is paginated
    _until(browser, lambda d: any("rejected" in t.text for t in d.find_elements(
        "css selector", "#run-robustness-graph .legendtext")), "the map has no legend")
    _until(browser, lambda d: 0 < len(d.find_elements(
        "css selector", f"#{robustness_tab.CASES_GRID} .ag-center-cols-container .ag-row"))
        <= robustness_tab.PAGE_SIZE, "the case table is not paginated")
    assert cancer_result[1]["robustness"]["total"] > robustness_tab.PAGE_SIZE
