"""The schema page: its callbacks as functions, and the real-browser flow (upload a CSV, edit, preview, export)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from modelwatch.dashboard.schema_editor import messages, rows_to_schema, schema_to_rows
from modelwatch.figures.schema import feature_histogram
from tests.support import require


def sample_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame({"age": rng.integers(20, 80, n), "income": rng.lognormal(10, 0.4, n).round(2),
                         "plan": rng.choice(["basic", "plus", "pro"], n)})


def test_rows_round_trip_and_messages():
    schema = {"schema_version": 1, "target": {"name": "y", "type": "int", "classes": [0, 1]}, "features": [
        {"name": "age", "type": "int", "min": 18, "max": 90, "nullable": True, "missing_rate": 0.1,
         "distribution": {"kind": "normal", "mean": 40.5, "std": 12}, "flags": ["id_like"]},
        {"name": "q", "type": "float", "distribution": {"kind": "empirical", "quantiles": [0, 1.5, 4]}},
        {"name": "on", "type": "bool", "categories": [False, True], "weights": [0.25, 0.75],
         "distribution": {"kind": "constant", "value": True}},
        {"name": "plan", "type": "categorical", "categories": ["a", "b"], "weights": [1, 3]}]}
    rows = schema_to_rows(schema)
    assert rows[0]["params"] == "mean=40.5, std=12" and rows[1]["params"] == "quantiles=0 1.5 4"
    doc, errors = rows_to_schema(rows, schema)
    assert not errors
    assert doc["target"] == schema["target"] and doc["features"][0]["flags"] == ["id_like"]
    assert doc["features"][1]["distribution"] == {"kind": "empirical", "quantiles": [0.0, 1.5, 4.0]}
    assert doc["features"][2]["distribution"] == {"kind": "constant", "value": True}
    assert doc["features"][3]["categories"] == ["a", "b"] and doc["features"][3]["weights"] == [1.0, 3.0]
    rows[0]["params"] = "mean=4, oops"
    _, errors = rows_to_schema(rows, schema)
    assert messages(errors, rows) == ["Row 1 (age) · params: 'oops' is not key=value"]


def test_histogram_figures():
    numeric = feature_histogram({"name": "a", "type": "float", "kind": "numeric", "edges": [0, 1, 2],
                                 "counts": [3, 4], "n": 10, "missing": 3})
    assert list(numeric.data[0].y) == [3, 4] and "30% missing" in numeric.layout.title.text
    categorical = feature_histogram({"name": "p", "type": "categorical", "kind": "categorical",
                                     "categories": ["x", "y"], "counts": [1, 2], "n": 3, "missing": 0})
    assert list(categorical.data[0].x) == ["x", "y"]


def _cell(browser, grid: str, row: int, col: str):
    return browser.find_element(f"#{grid} .ag-row[row-index='{row}'] .ag-cell[col-id='{col}']")


def test_schema_page_flow_in_a_browser(browser, live_server, tmp_path):
    import shutil

    require(shutil.which("chromedriver"), "chromedriver is not installed (apt-get install chromium-driver)")
    from selenium.webdriver.common.keys import Keys

    csv_path = tmp_path / "sample.csv"
    sample_frame().to_csv(csv_path, index=False)
    browser.driver.get(live_server[1] + "/schema")
    browser.wait_for_element("#schema-empty-alert", timeout=20)

    browser.find_element("#schema-csv-upload input[type='file']").send_keys(str(csv_path))
    browser.wait_for_contains_text("#schema-validation-div", "valid: 3 feature(s)", timeout=20)
    assert _cell(browser, "schema-features-grid", 0, "name").text == "age"
    browser.wait_for_element("#schema-preview-grid .ag-cell[col-id='age']", timeout=20)

    def edit(col: str, value: str) -> None:
        _cell(browser, "schema-features-grid", 0, col).click()
        editor = browser.wait_for_element(f"#schema-features-grid .ag-cell[col-id='{col}'] input", timeout=10)
        editor.send_keys(Keys.CONTROL, "a")
        editor.send_keys(value, Keys.ENTER)

    edit("min", "40")
    edit("max", "30")
    browser.wait_for_contains_text("#schema-validation-div", "Row 1 (age) · min: must be less than or equal to max",
                                   timeout=20)
    edit("min", "20")
    browser.wait_for_contains_text("#schema-validation-div", "valid: 3 feature(s)", timeout=20)

    def preview_ages() -> list[float]:
        # read the texts in one script: the grid re-renders while the preview updates (stale elements)
        texts = browser.driver.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)",
            "#schema-preview-grid .ag-center-cols-container .ag-cell[col-id='age']")
        return [float(t) for t in texts if t.strip()]

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (preview_ages() and max(preview_ages()) <= 30):
        time.sleep(0.3)
    assert preview_ages() and max(preview_ages()) <= 30
    assert len(browser.find_elements("#schema-histograms-div .js-plotly-plot")) == 3

    browser.find_element("#schema-add-button").click()
    browser.wait_for_contains_text("#schema-validation-div", "valid: 4 feature(s)", timeout=20)
    checkbox = browser.find_element("#schema-features-grid .ag-row[row-index='3'] .ag-selection-checkbox input")
    checkbox.click()
    browser.find_element("#schema-remove-button").click()
    browser.wait_for_contains_text("#schema-validation-div", "valid: 3 feature(s)", timeout=20)

    browser.find_element("#schema-export-button").click()
    exported = tmp_path / "schema.json"
    downloaded = None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and downloaded is None:
        found = list(Path(browser.download_path).glob("schema*.json"))
        downloaded = found[0] if found else None
        time.sleep(0.3)
    assert downloaded is not None, "the schema JSON was not downloaded"
    exported.write_bytes(downloaded.read_bytes())
    doc = json.loads(exported.read_text())
    age = next(f for f in doc["features"] if f["name"] == "age")
    assert age["max"] == 30 and age["type"] == "int"
    assert [f["name"] for f in doc["features"]] == ["age", "income", "plan"]


def test_schema_page_prefills_from_the_uploaded_model(browser, live_server, tmp_path, churn_pipeline, churn_frame):
    import shutil

    from tests.support import dumps

    require(shutil.which("chromedriver"), "chromedriver is not installed (apt-get install chromium-driver)")
    model_path = tmp_path / "churn.pkl"
    model_path.write_bytes(dumps(churn_pipeline))
    csv_path = tmp_path / "churn.csv"
    churn_frame.assign(region=churn_frame["region"].replace("west", "mars")).to_csv(csv_path, index=False)
    browser.driver.get(live_server[1] + "/upload")
    browser.wait_for_element("#upload-model-upload input[type='file']", timeout=20).send_keys(str(model_path))
    browser.wait_for_contains_text("#upload-summary-div", "is ready", timeout=60)
    browser.find_element("#shell-navbar a[href='/schema']").click()
    browser.wait_for_contains_text("#schema-source-div", "From the model", timeout=20)
    browser.wait_for_contains_text("#schema-validation-div", "valid: 4 feature(s)", timeout=20)
    assert _cell(browser, "schema-features-grid", 0, "categories").text == "basic, plus, pro"
    browser.find_element("#schema-csv-upload input[type='file']").send_keys(str(csv_path))
    browser.wait_for_contains_text("#schema-source-div", "merged with the model", timeout=30)
    browser.wait_for_contains_text("#schema-warnings-div", "mars", timeout=10)
    browser.wait_for_contains_text("#schema-validation-div", "valid: 4 feature(s)", timeout=20)


def test_an_unedited_row_keeps_its_source_and_an_edited_one_becomes_the_users():
    schema = {"schema_version": 1, "target": None, "features": [
        {"name": "a", "type": "float", "distribution": {"kind": "normal", "mean": 0, "std": 1}, "source": "assumed"},
        {"name": "b", "type": "float", "distribution": {"kind": "normal", "mean": 0, "std": 1}, "source": "model"}]}
    rows = schema_to_rows(schema)
    assert [r["source"] for r in rows] == ["assumed", "model"]
    rows[1]["params"] = "mean=3, std=1"
    doc, _ = rows_to_schema(rows, schema)
    assert doc["features"][0]["source"] == "assumed" and "source" not in doc["features"][1]
