"""Every view of a robustness section names its outcomes as the Robustness tab does (``core.checks.outcomes``):
the HTML report's headline and case table, and the CLI's verdict lines; a correct rejection is handled, not a miss."""
from __future__ import annotations

import json
import re

from modelwatch.cli import summary
from modelwatch.core.checks import outcomes
from modelwatch.core.results import verdict
from modelwatch.figures import html_report
from tests.factories import V1

CASES = [{"name": "baseline", "feature": None, "kind": "baseline", "status": "ok", "outcome": "ok", "message": ""},
         {"name": "nan:a", "feature": "a", "kind": "nan", "status": "error", "outcome": "rejected",
          "message": "ValueError: Input X contains NaN."},
         {"name": "min:a", "feature": "a", "kind": "min", "status": "error", "outcome": "crashed",
          "message": "ValueError: boom"},
         {"name": "+inf:a", "feature": "a", "kind": "+inf", "status": "degraded", "outcome": "degraded",
          "message": "the model returned NaN or infinity"}]
ROBUSTNESS = {"passed": 1, "total": 4, "outcomes": {"ok": 1, "rejected": 1, "degraded": 1, "crashed": 1},
              "handled_rate": 0.5, "cases": CASES}
LINE = "1 crashed on valid input · 1 silently degraded · 1 rejected with a clear error · 1 ok"


def test_the_summary_line_is_the_tabs_words_worst_first():
    assert outcomes.summary(outcomes.counts(ROBUSTNESS)) == LINE


def test_the_html_report_shows_the_handled_rate_and_the_outcomes():
    result = {**V1, "robustness": ROBUSTNESS}
    run = {"id": "r1", "name": "outcomes", "status": "succeeded", "source": "api", "created_at": "2026-01-01T00:00Z",
           "duration_s": 1.0, "error": None, "gates": None, "result": result,
           "model": {"type": "LogisticRegression", "task": "classification", "n_features": 1, "sha256": "ab" * 32}}
    page = html_report.render(run, None)
    assert "<td>robustness: handled rate</td><td>0.5</td>" in page  # the Summary's headline table
    assert "<td>robustness: cases crashed</td>" in page and "<td>robustness: cases degraded</td>" in page
    assert "pass rate" not in page
    figures = json.loads(re.search(r'id="figures-json">(.*?)</script>', page, re.S).group(1))
    titles = [spec["layout"]["title"]["text"] for name, spec in figures.items() if name.startswith("fig-robustness")]
    assert f"Robustness cases: {LINE}" in titles  # the case table's title


def test_the_cli_prints_the_outcomes_in_the_verdicts_robustness_line():
    found = verdict.evaluate({**V1, "robustness": ROBUSTNESS})
    run = {"id": "r1", "status": "succeeded", "verdict": found, "gates": None}
    line = next(row for row in summary(run).splitlines() if "robustness:" in row)
    assert line.split()[0] == "fail" and "min:a" in line and line.endswith(f"({LINE})")
