"""Exports of a run: the HTML report (self-contained, every section, offline, small), JSON, metrics and data CSVs."""
from __future__ import annotations

import csv
import io
import json
import re
from html.parser import HTMLParser

import pandas as pd
import pytest

from modelwatch.app import create_app
from modelwatch.core.data.synthetic import generate
from modelwatch.core.schema.from_csv import read_csv_bytes
from modelwatch.extensions import db
from modelwatch.figures.html_report import MAX_POINTS
from modelwatch.models import Run
from modelwatch.services import artifacts
from tests.conftest import make_config
from tests.support import dumps

SECTIONS = ("summary", "performance", "robustness", "quality", "drift", "explainability", "data")
CONFIG = {"n_samples": 200, "batch_sizes": [1, 100], "explain": {"max_samples": 40, "background": 20}}
FIVE_MB = 5 * 1024 * 1024


class Document(HTMLParser):
    """What a browser would fetch or run: ids, tags, and every src/href/url() it references."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.references: list[str] = []
        self.figure_divs: list[str] = []
        self.table_rows = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "div" and "figure" in (attrs.get("class") or ""):
            self.figure_divs.append(attrs["id"])
        if tag == "tr":
            self.table_rows += 1
        self.references += [attrs[k] for k in ("src", "href") if attrs.get(k)]


@pytest.fixture(scope="module")
def export_app(tmp_path_factory):
    app = create_app(make_config(f"sqlite:///{tmp_path_factory.mktemp('exports') / 'e.db'}"))
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()


@pytest.fixture(scope="module")
def client(export_app):
    return export_app.test_client()


@pytest.fixture(scope="module")
def finished(client, forest, cancer, sandbox):
    """A 30-feature forest run with a labelled sample, so that every section has something to show."""
    X, y = cancer
    sample = pd.DataFrame(X.to_numpy()[:150], columns=[f"f{i}" for i in range(30)]).assign(label=y[:150].to_numpy())
    form = {"model": (io.BytesIO(dumps(forest)), "cancer_forest.pkl"), "config": json.dumps(CONFIG),
            "sample": (io.BytesIO(sample.to_csv(index=False).encode()), "sample.csv"), "target": "label"}
    response = client.post("/run_tests?wait=300", data=form, content_type="multipart/form-data")
    run = response.get_json()["run"]
    assert run["status"] == "succeeded", run["error"]
    return run


def test_the_html_report_is_self_contained_small_and_has_every_section(client, finished):
    response = client.get(f"/api/runs/{finished['id']}/report.html")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert len(response.data) < FIVE_MB, f"{len(response.data) / 2**20:.2f} MB"
    text = response.get_data(as_text=True)
    doc = Document()
    doc.feed(text)
    assert {f"section-{name}" for name in SECTIONS} <= doc.ids
    # nothing to fetch: every reference is an in-page anchor, and no CSS pulls a URL
    assert all(ref.startswith("#") for ref in doc.references), doc.references
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text) and "<link" not in text
    assert "plotly-js-gz" in doc.ids  # plotly.js inlined once
    assert "report-time-spent" in doc.ids and "latency is timed with nothing else running" in text  # as on the page
    assert "report-performance-note" in doc.ids and "95% distribution-free intervals" in text  # how latency was timed
    assert "report-drift-note" in doc.ids and "Detection powers are shares of" in text  # how well they are known
    figures = json.loads(re.search(r'id="figures-json">(.*?)</script>', text, re.S).group(1))
    templates = figures.pop("_templates")
    assert set(figures) == set(doc.figure_divs) and len(figures) >= 8
    assert all(f.get("template") in templates for f in figures.values())
    for spec in figures.values():  # downsampled traces; no data rows as tables
        for trace in spec["data"]:
            if trace.get("type") not in ("table", "heatmap"):
                assert len(trace.get("x") or []) <= MAX_POINTS and len(trace.get("y") or []) <= MAX_POINTS
    assert doc.table_rows < 400
    assert client.get(f"/api/runs/{finished['id']}/report.html?download=1").headers["Content-Disposition"].startswith(
        "attachment")


def test_the_html_report_renders_its_charts_in_a_browser_without_network(browser, client, finished, tmp_path):
    path = tmp_path / "report.html"
    path.write_bytes(client.get(f"/api/runs/{finished['id']}/report.html").data)
    browser.driver.get(path.as_uri())  # a file: no server, and Chromium runs with networking disabled
    browser.wait_for_element("body[data-rendered]", timeout=30)
    rendered = int(browser.driver.find_element("css selector", "body").get_attribute("data-rendered"))
    assert rendered >= 8
    assert len(browser.driver.find_elements("css selector", ".figure .main-svg")) >= rendered
    assert not browser.driver.find_elements("css selector", "p.failed")


def test_report_json_is_the_full_run_as_a_download(client, finished):
    response = client.get(f"/api/runs/{finished['id']}/report.json")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment;")
    assert ".json" in response.headers["Content-Disposition"]
    body = json.loads(response.data)
    assert body["id"] == finished["id"] and body["result"] == finished["result"]


def test_metrics_csv_is_flat_section_metric_value(client, finished):
    response = client.get(f"/api/runs/{finished['id']}/metrics.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["section", "metric", "value"] and all(len(r) == 3 for r in rows)
    values = {(s, m): v for s, m, v in rows[1:]}
    result = finished["result"]
    assert float(values[("performance", "latency_ms.1.p95")]) == pytest.approx(
        result["performance"]["latency_ms"]["1"]["p95"])
    assert float(values[("quality", "metrics.accuracy")]) == pytest.approx(result["quality"]["metrics"]["accuracy"])
    explained = result["explainability"]
    assert "feature_importance" in explained, explained  # a skipped section shows its reason and traceback
    top = explained["feature_importance"][0]
    assert float(values[("explainability", f"importance.{top['feature']}")]) == pytest.approx(top["mean_abs_shap"])
    assert {s for s, _, _ in rows[1:]} >= {"data", "performance", "robustness", "quality", "drift", "explainability"}


def test_data_csv_is_the_generated_data_again(client, finished):
    first = client.get(f"/api/runs/{finished['id']}/data.csv")
    assert first.status_code == 200 and first.data == client.get(f"/api/runs/{finished['id']}/data.csv").data
    frame = pd.read_csv(io.BytesIO(first.data))
    schema = finished["result"]["schema"]
    assert list(frame.columns) == [f["name"] for f in schema["features"]] and len(frame) == CONFIG["n_samples"]
    expected = generate(schema, CONFIG["n_samples"], 0)
    pd.testing.assert_frame_equal(frame, pd.read_csv(io.StringIO(expected.to_csv(index=False))))


@pytest.mark.usefixtures("sandbox")
def test_data_csv_of_a_copula_run_is_fitted_on_its_stored_sample(client, export_app, churn_frame, churn_pipeline):
    sample = churn_frame.head(200)
    form = {"model": (io.BytesIO(dumps(churn_pipeline)), "churn.pkl"), "target": "churn",
            "sample": (io.BytesIO(sample.to_csv(index=False).encode()), "sample.csv"),
            "config": json.dumps({"n_samples": 60, "generator": "copula", "batch_sizes": [1],
                                  "explain": {"max_samples": 5, "background": 5}})}
    run = client.post("/run_tests?wait=300", data=form, content_type="multipart/form-data").get_json()["run"]
    frame = pd.read_csv(io.BytesIO(client.get(f"/api/runs/{run['id']}/data.csv").data))
    with export_app.app_context():
        schema = db.session.get(Run, run["id"]).schema
    fit_on = None if schema.get("copula") else read_csv_bytes(sample.to_csv(index=False).encode())
    expected = generate(schema, 60, 0, generator="copula", sample=fit_on)
    pd.testing.assert_frame_equal(frame, pd.read_csv(io.StringIO(expected.to_csv(index=False))))
    assert run["result"]["data"]["generator"] == "copula"


@pytest.fixture
def handmade(export_app, diabetes_regressor, sandbox):
    """Runs written straight to the table: one finished with skipped and missing sections, one still queued."""
    artifact = artifacts.store_upload(dumps(diabetes_regressor), "diabetes.pkl")
    schema = {"schema_version": 1, "features": [{"name": "age", "type": "float", "min": 0.0, "max": 1.0}]}
    result = {"schema": schema, "data": {"n_samples": 10, "seed": 0, "generator": "independent"},
              "performance": {"latency_ms": {"1": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "max": 4.0, "mean": 1.5,
                                                   "n_calls": 9}}, "throughput_rows_per_s": {"1": 500.0},
                              "error_rate": 0.0},
              "robustness": {"skipped": "RuntimeError: robustness broke"}, "quality": None,
              "explainability": {"skipped": "no explainer for this model"}}  # drift missing altogether
    done = Run(artifact=artifact, name="handmade", status="succeeded", schema=schema, config={}, result=result)
    queued = Run(artifact=artifact, name="queued", status="queued", schema=schema, config={})
    db.session.add_all([done, queued])
    db.session.commit()
    return done.id, queued.id


def test_skipped_and_missing_sections_are_reported_not_fatal(client, handmade):
    done, _ = handmade
    text = client.get(f"/api/runs/{done}/report.html").get_data(as_text=True)
    assert "Skipped: RuntimeError: robustness broke" in text and "Skipped: no explainer for this model" in text
    assert "Skipped: not computed" in text  # drift
    rows = list(csv.reader(io.StringIO(client.get(f"/api/runs/{done}/metrics.csv").get_data(as_text=True))))
    assert ["robustness", "skipped", "RuntimeError: robustness broke"] in rows
    assert ["drift", "skipped", "not computed"] in rows and ["performance", "latency_ms.1.p95", "2.0"] in rows


def test_unfinished_and_unknown_runs(client, handmade):
    _, queued = handmade
    response = client.get(f"/api/runs/{queued}/metrics.csv")
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "run_not_finished"
    assert client.get(f"/api/runs/{queued}/report.html").status_code == 409
    assert client.get("/api/runs/nope/report.json").get_json()["error"]["code"] == "not_found"


def test_cancel_and_tag_endpoints(client, handmade):
    done, queued = handmade
    run = client.post(f"/api/runs/{queued}/cancel").get_json()["run"]
    assert run["status"] == "failed" and run["error"]["code"] == "cancelled"
    assert client.post(f"/api/runs/{done}/cancel").get_json()["run"]["status"] == "succeeded"
    tagged = client.put(f"/api/runs/{done}/tags", json={"tags": ["v2", "candidate", "v2"]}).get_json()["run"]
    assert tagged["tags"] == ["v2", "candidate"]
    assert client.put(f"/api/runs/{done}/tags", json={"tags": "v2"}).status_code == 400


def test_delete_while_queued_or_running_cancels_then_deletes(client, handmade):
    _, queued = handmade
    assert client.delete(f"/api/runs/{queued}").status_code == 204
    assert client.get(f"/api/runs/{queued}").status_code == 404


def test_the_openapi_document_lists_the_exports(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for name in ("report.html", "report.json", "metrics.csv", "data.csv"):
        assert f"/api/runs/{{run_id}}/{name}" in paths
