"""The CLI's exit code follows the run's verdict; ``--strict`` lets only ``pass`` through."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from modelwatch.cli import EXIT_ERROR, EXIT_FAILED, EXIT_PASSED, junit, summary, verdict


def _run(status: str | None, gates_passed: bool = True) -> dict:
    run = {"id": "r1", "status": "succeeded", "gates": {"passed": gates_passed, "checks": []}}
    if status is not None:
        run["verdict"] = {"status": status, "reasons": [], "checks": [
            {"section": "quality", "name": "beats the baseline", "status": "not_measured", "value": None,
             "bound": None, "reason": "no labelled data"}]}
    return run


@pytest.mark.parametrize(("status", "plain", "strict"), [
    ("pass", EXIT_PASSED, EXIT_PASSED), ("warn", EXIT_PASSED, EXIT_FAILED),
    ("incomplete", EXIT_PASSED, EXIT_FAILED), ("fail", EXIT_FAILED, EXIT_FAILED)])
def test_exit_code_follows_the_verdict(status, plain, strict):
    assert verdict(_run(status)) == plain and verdict(_run(status), strict=True) == strict


def test_a_server_without_verdicts_is_judged_by_its_gates_and_failed_runs_by_their_cause():
    assert verdict(_run(None, gates_passed=False)) == EXIT_FAILED and verdict(_run(None)) == EXIT_PASSED
    assert verdict({"status": "failed", "error": {"code": "model_error"}}) == EXIT_FAILED
    assert verdict({"status": "failed", "error": {"code": "cancelled"}}) == EXIT_ERROR


def test_the_summary_shows_each_light():
    text = summary(_run("warn"), strict=True)
    assert "verdict  WARN" in text and "not_measured" in text and "no labelled data" in text
    assert text.rstrip().endswith("FAILED")


def test_junit_names_the_verdict():
    suite = ET.fromstring(junit(_run("warn"))).find("testsuite")
    assert suite.find("properties/property[@name='verdict']").get("value") == "warn"
