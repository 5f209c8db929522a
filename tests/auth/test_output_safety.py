"""Output safety (issue #13): spreadsheet formulas in CSV exports, markdown in the History grid, script-breaking
text in the HTML report's embedded JSON."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from modelwatch.figures.html_report import json_for_script
from modelwatch.services import exports
from modelwatch.services.history import history_rows
from tests.factories import stored_artifact, stored_run

HOSTILE = "=HYPERLINK(\"https://evil.example\")"
SCHEMA = {"schema_version": 1, "features": [
    {"name": HOSTILE, "type": "categorical", "categories": ["=1+1", "@SUM(A1)", "+x", "\tt", "plain"]},
    {"name": "<!--<script>", "type": "float", "min": -5.0, "max": -1.0},
]}


@pytest.fixture
def hostile_run(app):
    """A finished run written straight to the table, named and shaped by an attacker."""
    result = {"schema": SCHEMA, "data": {"n_samples": 40, "seed": 0, "generator": "independent"},
              "performance": {"latency_ms": {"1": {"p95": 2.0}}, "=cmd|' /C calc'!A0": 1.0}}
    return stored_run(stored_artifact(), "x](https://evil.example) [y", "failed", schema=SCHEMA,
                      config={"n_samples": 40}, result=result,
                      error={"code": "model_error", "message": "-2+3+cmd|' /C calc'!A0", "details": {}}).id


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_csv_exports_neutralise_formulas_and_keep_numbers(hostile_run):
    data, _ = exports.data_csv(hostile_run)
    values = cells(data)
    assert "'" + HOSTILE in values and HOSTILE not in values
    assert {"'=1+1", "'@SUM(A1)", "'+x", "'\tt"} & set(values) and not {"=1+1", "@SUM(A1)", "+x"} & set(values)
    negatives = [v for v in values if v.startswith("-")]
    assert negatives and all(float(v) < 0 for v in negatives)  # numbers stay numbers

    metrics, _ = exports.metrics_csv(hostile_run)
    dangerous = [c for c in cells(metrics) if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert dangerous == []
    assert "'-2+3+cmd|' /C calc'!A0" in cells(metrics)


def test_history_shows_a_run_name_as_text_inside_its_own_link(hostile_run):
    row = next(r for r in history_rows() if r["id"] == hostile_run)
    links = re.findall(r"(?<!\\)\]\((?P<href>[^)]*)\)", row["name"])
    assert links == [f"/runs/{hostile_run}"]  # one link, to the run; the name's brackets are escaped


def test_the_report_json_cannot_end_its_script_element(hostile_run):
    body, _ = exports.report_html(hostile_run)
    embedded = re.search(r'<script type="application/json" id="figures-json">(.*?)</script>', body, re.S)
    assert embedded is not None and not re.search(r"<!--|<script|</", embedded.group(1), re.I)
    figures = {"fig": {"layout": {"title": "<!--<script>x</script>"}, "data": [{"name": "a&b>c"}]}}
    text = json_for_script(figures)
    assert not re.search(r"<!--|<script|</", text, re.I) and json.loads(text) == figures
