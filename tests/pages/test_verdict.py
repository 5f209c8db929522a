"""The gates verdict on the run page: the header badge and the summary's table of checks."""
from __future__ import annotations

from modelwatch.dashboard import verdict

GATES = {"passed": False, "source": "config", "checks": [
    {"name": "performance.error_rate <= 0", "metric": "performance.error_rate", "op": "max", "threshold": 0.0,
     "value": 0.0, "passed": True},
    {"name": "quality.metrics.r2 >= 0.5", "metric": "quality.metrics.r2", "op": "min", "threshold": 0.5,
     "value": None, "passed": False},
]}


def _text(component) -> str:
    children = getattr(component, "children", component)
    if isinstance(children, (list, tuple)):
        return " ".join(_text(c) for c in children)
    return str(children) if not hasattr(children, "children") else _text(children)


def test_badge_says_the_verdict_once_there_is_one():
    assert verdict.badge({"gates": None}) == []
    (failed,) = verdict.badge({"gates": GATES})
    assert failed.children == "gates failed" and failed.color == "danger"
    (passed,) = verdict.badge({"gates": {**GATES, "passed": True}})
    assert passed.children == "gates passed" and passed.color == "success"


def test_panel_lists_every_check_with_its_bound_value_and_outcome():
    alert, table = verdict.panel(GATES)
    assert alert.color == "danger" and "Gates failed" in _text(alert) and "config.thresholds" in _text(alert)
    rows = table.children[1].children
    assert len(rows) == 2
    first, second = (_text(row) for row in rows)
    assert "performance.error_rate" in first and "≤ 0" in first and "pass" in first
    assert "quality.metrics.r2" in second and "≥ 0.5" in second and "not measured" in second and "fail" in second
    assert verdict.panel(None) == []
