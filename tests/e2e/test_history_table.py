"""History as a runs table in a real browser: name and verdict pinned left, numeric metric columns, relative
times, a column chooser the browser remembers, and search, grouping and filters that survive a reload in the URL;
no AG Grid warning in the console."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from modelwatch.extensions import db
from tests.e2e.console import console_lines, record_console
from tests.e2e.waiting import wait_until
from tests.factories import V1, V2, add_run

GRID = "#history-runs-grid"


def _headers(browser) -> list[str]:
    """Every shown column's header, rendered or scrolled out of view."""
    return browser.driver.execute_script(
        "return dash_ag_grid.getApi('history-runs-grid').getAllDisplayedColumns()"
        ".map(c => c.getColDef().headerName).filter(Boolean)")


def _query(browser) -> dict[str, list[str]]:
    return parse_qs(urlparse(browser.driver.current_url).query)


def _visible_names(browser) -> list[str]:
    return browser.driver.execute_script(
        f"return Array.from(document.querySelectorAll('{GRID} .ag-pinned-left-cols-container "
        "[col-id=name]')).map(e => e.innerText.trim())")


def _open_history(browser, url: str) -> None:
    browser.driver.get(url)
    wait_until(lambda: "ledger v2" in browser.driver.execute_script(
        f"return (document.querySelector('{GRID}') || {{}}).innerText || ''"), "the grid shows the runs")


def test_history_columns_and_filters_persist(browser, live_server):
    app, url = live_server
    with app.app_context():
        add_run("ledger v1", V1, minutes_ago=30)
        add_run("ledger v2", V2, minutes_ago=3)
        add_run("ledger v2", V1, minutes_ago=1)
        add_run("unrelated scorer", V2, minutes_ago=2)
        db.session.remove()
    record_console(browser)
    _open_history(browser, f"{url}/history")

    # name and verdict stay on the left, whatever the scroll; metrics are numbers; times read as "3 min ago"
    pinned = browser.driver.execute_script(
        f"return Array.from(document.querySelectorAll('{GRID} .ag-pinned-left-header .ag-header-cell-text'))"
        ".map(e => e.innerText.trim())")
    assert pinned == ["Run", "Verdict"]
    row = browser.driver.execute_script(
        f"const rows = Array.from(document.querySelectorAll('{GRID} .ag-center-cols-container .ag-row'));"
        "const id = Array.from(document.querySelectorAll('" + GRID + " .ag-pinned-left-cols-container .ag-row'))"
        ".find(r => r.innerText.includes('ledger v1')).getAttribute('row-id');"
        "const cells = rows.find(r => r.getAttribute('row-id') === id).querySelectorAll('.ag-cell');"
        "return Object.fromEntries(Array.from(cells).map(c => [c.getAttribute('col-id'), c.innerText.trim()]));")
    assert row["created_at"] == "30 min ago" and row["accuracy"] == "0.9" and row["throughput"] == "20,000"
    assert row["p95_1_ms"] == "2 ms" and row["robustness"] == "90%"  # handled: 8 ok + 1 rejected of 10

    # the column chooser: show sha256, hide accuracy; the browser remembers it over a reload
    assert "sha256" not in _headers(browser) and "Accuracy" in _headers(browser)
    browser.find_element("#history-columns-button").click()
    for label in ("sha256", "Accuracy"):
        browser.driver.find_element(
            "xpath", f"//div[@id='history-columns-checklist']//label[normalize-space()='{label}']").click()
    wait_until(lambda: "sha256" in _headers(browser) and "Accuracy" not in _headers(browser), "the chooser applies")

    # search and grouping go to the query string as they change
    browser.find_element("#history-filter-input").send_keys("ledger")
    browser.driver.find_element("css selector", "#history-group-switch").click()
    wait_until(lambda: _query(browser).get("q") == ["ledger"] and _query(browser).get("group") == ["model"],
               "the URL carries the search and the grouping")
    wait_until(lambda: _visible_names(browser) and all("ledger" in n for n in _visible_names(browser)),
               "the search hides the other runs")
    assert [line for line in console_lines(browser) if "AG Grid" in line] == []  # choosing, grouping: no warning

    browser.driver.refresh()
    _open_history(browser, browser.driver.current_url)
    assert browser.find_element("#history-filter-input").get_attribute("value") == "ledger"
    assert browser.driver.find_element("css selector", "#history-group-switch").is_selected()
    wait_until(lambda: "sha256" in _headers(browser) and "Accuracy" not in _headers(browser),
               "the chosen columns return")
    names = wait_until(lambda: (lambda n: n if len(n) == 3 else None)(_visible_names(browser)),
                       "only the three ledger runs are listed")
    assert names[:2] == ["ledger v2", "ledger v2"]  # grouped: the model with the newest run first, its runs together
    model_cells = browser.driver.execute_script(
        f"return Array.from(document.querySelectorAll('{GRID} .ag-pinned-left-cols-container [col-id=model]'))"
        ".map(e => e.innerText.trim())")
    assert model_cells == ["ledger v2 (2)", "", "ledger v1 (1)"]

    assert [line for line in console_lines(browser) if "AG Grid" in line] == []

    # the creation date filters by day
    browser.driver.execute_script("dash_ag_grid.getApi('history-runs-grid').setFilterModel("
                                  "{created_at: {filterType: 'date', type: 'lessThan', dateFrom: '2000-01-01'}})")
    wait_until(lambda: _visible_names(browser) == [], "no run was created before 2000")
    browser.driver.execute_script("dash_ag_grid.getApi('history-runs-grid').setFilterModel("
                                  "{created_at: {filterType: 'date', type: 'greaterThan', dateFrom: '2000-01-01'}})")
    wait_until(lambda: len(_visible_names(browser)) == 3, "every ledger run was created after 2000")

    # a column filter joins them in the URL, and a reload applies it again
    browser.driver.execute_script(
        "dash_ag_grid.getApi('history-runs-grid').setFilterModel("
        "{robustness: {filterType: 'number', type: 'greaterThan', filter: 0.95}})")  # handled: V1 0.9, V2 1
    wait_until(lambda: "robustness" in "".join(_query(browser).get("filter", [])), "the URL carries the column filter")
    browser.driver.refresh()
    _open_history(browser, browser.driver.current_url)
    wait_until(lambda: _visible_names(browser) == ["ledger v2"], "the reloaded grid keeps the column filter")
    # the metric chart follows what the grid lists
    wait_until(lambda: browser.driver.execute_script(
        "const plot = document.querySelector('#history-chart-graph .js-plotly-plot');"
        "return plot && plot.data && JSON.stringify(plot.data.map(t => [t.name, t.y.length]))") == '[["ledger v2",1]]',
          "the chart shows the one listed run")
