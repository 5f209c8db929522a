"""The main pages on a 390×844 phone: the navbar collapses behind its toggler, and no page scrolls sideways (wide
tables and tab bars scroll inside themselves)."""
from __future__ import annotations

from modelwatch.extensions import db
from tests.e2e.console import console_lines, record_console
from tests.e2e.waiting import wait_until
from tests.factories import V1, V2, add_run

OVERFLOW = """
const width = window.innerWidth;
const wide = Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > width + 1
  && getComputedStyle(e).position !== 'fixed');
const outermost = wide.filter(e => !wide.includes(e.parentElement)).slice(0, 5);
return {scroll: document.documentElement.scrollWidth, width: width,
        culprits: outermost.map(e => e.tagName + '#' + e.id + '.' + e.className)};
"""


def _assert_fits(browser, where: str) -> None:
    measured = browser.driver.execute_script(OVERFLOW)
    assert measured["width"] <= 400, measured  # the viewport really is a phone's
    assert measured["scroll"] <= measured["width"], (where, measured)


def test_phone_pages_have_no_horizontal_scroll(browser, live_server):
    app, url = live_server
    with app.app_context():
        v1 = add_run("phone check", V1, minutes_ago=5).id
        v2 = add_run("phone check", V2).id
        db.session.remove()
    browser.driver.set_window_size(390, 844)
    pages = {"/": "h1, h2", "/upload": "h2", "/history": "#history-runs-grid .ag-row",
             f"/compare?runs={v1},{v2}": "#compare-table-div table", "/models": "h2", "/schema": "h2",
             f"/runs/{v2}": ".nav-tabs"}
    record_console(browser)
    grid_warnings = []
    for path, ready in pages.items():
        browser.driver.get(f"{url}{path}")
        browser.wait_for_element(ready, timeout=30)
        wait_until(lambda: not browser.driver.execute_script(
            "return document.querySelector('._dash-loading, [data-dash-is-loading=true]')"), f"{path} settles")
        _assert_fits(browser, path)
        grid_warnings += [f"{path}: {line}" for line in console_lines(browser) if "AG Grid" in line]
    assert grid_warnings == []  # no deprecated grid option on any of these pages
    tabs = browser.driver.find_elements("css selector", ".nav-tabs .nav-link")
    assert len(tabs) >= 5
    for i in range(len(tabs)):  # every tab of the run page, wide tables included
        tab = browser.driver.find_elements("css selector", ".nav-tabs .nav-link")[i]
        browser.driver.execute_script("arguments[0].click()", tab)
        wait_until(lambda i=i: "active" in browser.driver.find_elements("css selector", ".nav-tabs .nav-link")[i]
                   .get_attribute("class"), "the tab opens")
        _assert_fits(browser, f"run page, tab {tab.text}")

    # the navbar's links hide behind the toggler, which opens and closes them
    links = "#shell-navbar-collapse"
    assert not browser.find_element(links).is_displayed()
    browser.find_element("#shell-navbar-toggler").click()
    wait_until(lambda: browser.find_element(links).is_displayed(), "the toggler opens the links")
    browser.driver.find_element("css selector", f"{links} a[href='/history']").click()
    wait_until(lambda: not browser.find_element(links).is_displayed(), "following a link closes them")
