"""The Quality tab in a real browser: moving the cut-off slider redraws the confusion matrix, precision and recall
from the Result's cut-off table."""
from __future__ import annotations

import numpy as np
import pytest
from selenium.webdriver.common.keys import Keys

# registered before the shared live server's first request (Dash reads its callback list once)
import modelwatch.dashboard.sections.quality as tab
from modelwatch.core.checks import quality
from modelwatch.core.results.jsonable import to_jsonable
from tests.core.suite_context import make_context
from tests.pages.run_tabs import figure_data, open_tab, store_run


@pytest.fixture(scope="module")
def churn_quality(churn_pipeline, churn_frame):
    ctx = make_context(churn_pipeline, churn_frame.drop(columns="churn"), schema={"features": []},
                       sample=churn_frame, target="churn",
                       quality={"n_boot": 0, "class_names": {"0": "stays", "1": "churns"}})
    return ctx.info, to_jsonable(quality.compute(ctx))


def test_the_cutoff_redraws_the_confusion_matrix_and_rates(churn_quality):
    _info, section = churn_quality
    table = section["cutoffs"]
    start = tab.default_cutoff_index(table)
    assert table["threshold"][start] == 0.5
    matrix, roc, rates, pr, text = tab.apply_cutoff(90, section)
    assert pr.data[-1].name == "cut-off" and pr.data[-1].x[0] == pytest.approx(table["tp"][90] / (
        table["tp"][90] + table["fn"][90]))
    assert rates.layout.shapes[0].x0 == 0.9 and [t.name for t in rates.data] == ["precision", "recall", "f1"]
    tn, fp, fn, tp = (table[k][90] for k in ("tn", "fp", "fn", "tp"))
    assert [list(r) for r in matrix.data[0].z] == [[tn, fp], [fn, tp]]
    assert "Cut-off 0.9" in text and "class 1 · churns" in text
    assert roc.data[-1].name == "cut-off" and roc.data[-1].y[0] == pytest.approx(tp / (tp + fn))


def test_moving_the_slider_changes_the_confusion_matrix(browser, live_server, churn_quality):
    app, url = live_server
    info, section = churn_quality
    run_id = store_run(app, info, {"quality": section, "performance": {"skipped": "not in this test"}},
                       "quality-cutoff")
    browser.wait_for_page(url=f"{url}/runs/{run_id}")
    open_tab(browser, "Quality", f"#{tab.MATRIX_GRAPH} .main-svg")
    browser.wait_for_contains_text(f"#{tab.MATRIX_GRAPH} .gtitle", "cut-off 0.5", timeout=30)
    before = np.array(figure_data(browser, tab.MATRIX_GRAPH)[0]["z"])
    table = section["cutoffs"]
    start = tab.default_cutoff_index(table)
    assert before.tolist() == [[table["tn"][start], table["fp"][start]], [table["fn"][start], table["tp"][start]]]

    thumb = browser.wait_for_element(f"#{tab.CUTOFF_SLIDER} [role='slider']", timeout=30)
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].focus();", thumb)
    thumb.send_keys(Keys.PAGE_UP * 4)  # the keyboard moves the slider ten steps per key: 0.50 -> 0.90
    browser.wait_for_contains_text(f"#{tab.MATRIX_GRAPH} .gtitle", "cut-off 0.9", timeout=30)
    after = np.array(figure_data(browser, tab.MATRIX_GRAPH)[0]["z"])
    assert after.sum() == before.sum() == section["n_rows"]
    assert after[:, 1].sum() < before[:, 1].sum()  # a higher cut-off flags fewer rows
    assert after.tolist() == [[table["tn"][90], table["fp"][90]], [table["fn"][90], table["tp"][90]]]
    assert "Cut-off 0.9 " in browser.find_element(f"#{tab.CUTOFF_TEXT}").text
