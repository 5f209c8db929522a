"""The what-if editor in a real browser: edit a value of the row, press Predict, and the model (run again in the
sandbox) gives a different prediction, explained."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from selenium.webdriver.common.keys import Keys

# registered before the shared live server's first request (Dash reads its callback list once)
import modelwatch.dashboard.sections.explainability as tab
from modelwatch.core.explain.section import compute
from modelwatch.core.results.jsonable import to_jsonable
from tests.core.suite_context import make_context
from tests.pages.run_tabs import open_tab, store_run
from tests.support import dumps


@pytest.fixture(scope="module")
def explained_model():
    """A logistic regression whose class is the sign of age − score."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(150, 3)), columns=["age", "income", "score"])
    model = LogisticRegression().fit(X, (X["age"] - X["score"] > 0).astype(int))
    ctx = make_context(model, X, sample=X.iloc[:60], explain={"max_samples": 8, "background": 30})
    result = {"schema": ctx.schema, "performance": {"skipped": "not in this test"},
              "explainability": to_jsonable(compute(ctx))}
    return model, ctx, result


def _field(feature: str) -> str:
    return "#" + json.dumps({"index": feature, "type": tab.WHATIF_INPUT}, separators=(",", ":")).replace(
        '"', '\\"').replace("{", "\\{").replace("}", "\\}").replace(":", "\\:").replace(",", "\\,")


def _predict(browser, age: float) -> str:
    field = browser.find_element(_field("age"))
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", field)
    field.clear()
    field.send_keys(str(age), Keys.TAB)  # the field commits its value on blur
    button = browser.find_element(f"#{tab.WHATIF_BUTTON}")  # a DOM click: the page's layout may overlap it
    browser.driver.execute_script("arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();", button)
    expected = "Prediction: 1" if age > 0 else "Prediction: 0"
    browser.wait_for_contains_text(f"#{tab.WHATIF_RESULT}", expected, timeout=120)  # a cold sandbox under load
    return browser.find_element(f"#{tab.WHATIF_RESULT}").text


def test_editing_a_value_changes_the_prediction(browser, live_server, explained_model, sandbox):
    app, url = live_server
    model, ctx, result = explained_model
    section = result["explainability"]
    assert section["rows_source"]["name"] == "sample" and [s["name"] for s in section["features"]] == list(ctx.data)
    run_id = store_run(app, ctx.info, result, "what-if-editor", artifact=dumps(model), schema=ctx.schema,
                       config=ctx.config)
    browser.wait_for_page(url=f"{url}/runs/{run_id}")
    open_tab(browser, "Explainability", f"#{tab.WHATIF_BUTTON}")
    score = browser.find_element(_field("score")).get_attribute("value")
    assert float(score) == pytest.approx(section["samples"][0]["row"]["score"])  # the first explained row
    low = _predict(browser, -4)
    row = {"age": -4.0, **{k: section["samples"][0]["row"][k] for k in ("income", "score")}}
    p_low = model.predict_proba(pd.DataFrame([row]))[0, 1]
    assert f"P(1) {tab.percent(p_low)}" in low
    high = _predict(browser, 4)
    assert "Prediction: 1" in high and high != low
    browser.wait_for_contains_text(f"#{tab.WHATIF_GRAPH} .gtitle", "what-if", timeout=30)
    labels = " ".join(t.text for t in browser.driver.find_elements("css selector", f"#{tab.WHATIF_GRAPH} .ytick text"))
    assert "age = 4" in labels
