"""The explainability tab in a real browser: click a row of the explained-rows table, the waterfall redraws."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

# The tab's callback must be registered before the app serves its first request (Dash reads its global
# callback list once); importing here, at collection time, guarantees that for the shared live server.
import modelwatch.dashboard.sections.explainability as tab
from modelwatch.core.explain.section import compute
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.figures.format import number
from tests.core.suite_context import make_context
from tests.pages.run_tabs import open_tab, store_run


@pytest.fixture(scope="module")
def explained_run_result():
    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(120, 4)), columns=["age", "income", "tenure", "score"])
    y = (X["age"] - X["score"] > 0).astype(int)
    model = LogisticRegression().fit(X, y)
    ctx = make_context(model, X, explain={"max_samples": 12, "background": 40})
    section = to_jsonable(compute(ctx))
    return ctx.info, {"schema": ctx.schema, "data": {"n_samples": 120, "seed": 0, "generator": "independent"},
                      "performance": {"skipped": "not part of this test"}, "explainability": section}


def _waterfall_title(browser) -> str:
    return browser.find_element(f"#{tab.WATERFALL_GRAPH} .gtitle").text


def test_clicking_a_row_redraws_the_waterfall(browser, live_server, explained_run_result):
    app, url = live_server
    info, result = explained_run_result
    run_id = store_run(app, info, result, "explain-waterfall")
    browser.wait_for_page(url=f"{url}/runs/{run_id}")
    open_tab(browser, "Explainability", f"#{tab.WATERFALL_GRAPH} .main-svg")
    # plotly draws the title after the svg: wait for the text itself
    browser.wait_for_contains_text(f"#{tab.WATERFALL_GRAPH} .gtitle", "Row 0", timeout=30)

    sample = result["explainability"]["samples"][5]
    cell = f"#{tab.SAMPLES_GRID} .ag-center-cols-container .ag-row[row-id='5'] .ag-cell[col-id='prediction']"
    target = browser.wait_for_element(cell, timeout=30)
    assert target.text == number(sample["prediction"])  # 3 significant digits, as everywhere
    # a DOM click on the cell: AG Grid turns it into cellClicked (the shell's layout can put the cell outside the
    # viewport's hit-testing, which makes a simulated mouse click flaky)
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", target)
    browser.wait_for_contains_text(f"#{tab.WATERFALL_GRAPH} .gtitle", "Row 5", timeout=30)
    assert number(sample['prediction']) in _waterfall_title(browser)
    bars = browser.driver.find_elements("css selector", f"#{tab.WATERFALL_GRAPH} .ytick text")
    labels = " ".join(b.text for b in bars)
    assert "base value" in labels and "prediction" in labels
    top = max(sample["contributions"].items(), key=lambda kv: abs(kv[1]))[0]
    assert top in labels
