"""The compare page in a real browser: v1 against v2, deltas coloured better or worse, overlaid charts."""
from __future__ import annotations

from modelwatch.extensions import db
from tests.factories import V1, V2, add_run


def test_compare_shows_deltas_for_two_known_runs(browser, live_server):
    app, url = live_server
    with app.app_context():
        v1, v2 = add_run("pricing v1", V1, minutes_ago=30), add_run("pricing v2", V2)
        ids = (v1.id, v2.id)
        db.session.remove()
    browser.wait_for_page(url=f"{url}/compare?runs={ids[0]},{ids[1]}")
    browser.wait_for_element("#compare-table-div table", timeout=30)

    def cell(key: str):
        return browser.driver.find_element(
            "xpath", f"//tr[contains(@id, '\"index\":\"{key}\"')]/td[3]")

    latency = cell("performance.latency_ms.1.p95")
    assert latency.text == "1.5 −0.5 (−25%)" and "compare-better" in latency.get_attribute("class")
    assert "text-success" in latency.find_element("css selector", "span").get_attribute("class")
    worse = cell("performance.latency_ms.100.p95")
    assert worse.text == "10 +2 (+25%)"
    assert "text-danger" in worse.find_element("css selector", "span").get_attribute("class")
    assert cell("quality.accuracy").text == "0.95 +0.05 (+5.56%)"
    for graph in ("#compare-parallel-graph", "#compare-latency-graph", "#compare-drift-graph",
                  "#compare-importance-graph"):
        browser.wait_for_element(f"{graph} .main-svg", timeout=20)
    assert "pricing v1" in browser.find_element("#compare-importance-graph").text
