"""The Drift tab's summary and ranking rules, on section dicts built to exercise each one."""
from __future__ import annotations

import math

import pytest

from modelwatch.figures.drift_overview import (
    column_rows,
    drift_score,
    histogram,
    scenario_families,
    sort_rows,
    widgets,
)


def _scenario(feature, kind, severity, impact, detected=False, error=None):
    return {"feature": feature, "kind": kind, "severity": severity, "impact": impact, "drift_detected": detected,
            "error": error, "flip_rate": impact}


DRIFT = {
    "impact_measure": "flip_rate",
    "current": {"n_rows": 200, "n_drifted": 2, "share_drifted": 2 / 3, "dataset_drift": True, "columns": [
        {"feature": "a", "test": "ks", "statistic": 0.4, "p_value": 1e-6, "threshold": 0.05, "drift_detected": True},
        {"feature": "b", "test": "wasserstein", "statistic": 0.3, "p_value": None, "threshold": 0.1,
         "drift_detected": True},
        {"feature": "c", "test": "ks", "statistic": 0.05, "p_value": 0.5, "threshold": 0.05,
         "drift_detected": False}]},
    "multivariate": {"auc": 0.93, "drift_detected": True},
    "scenarios": [_scenario("a", "mean_shift", 0.5, 0.02), _scenario("a", "mean_shift", 2.0, 0.10, detected=True),
                  _scenario("c", "mean_shift", 0.5, 0.30, detected=True), _scenario("c", "mean_shift", 2.0, 0.40),
                  _scenario("b", "missing", 0.5, None, error="ValueError: Input X contains NaN"),
                  _scenario(None, "mean_shift", 2.0, 0.64)],
    "sensitivity": [{"feature": "c", "impact": 0.40, "kind": "mean_shift", "severity": 2.0},
                    {"feature": "a", "impact": 0.10, "kind": "mean_shift", "severity": 2.0}],
    "breaking_points": [
        {"feature": "b", "kind": "missing", "severity": 0.5, "failed": [], "error": "ValueError: NaN",
         "max_severity_tested": 0.5},
        {"feature": "c", "kind": "mean_shift", "severity": 2.0, "failed": [{"metric": "flip_rate", "value": 0.4}],
         "error": None, "max_severity_tested": 2.0},
        {"feature": "a", "kind": "mean_shift", "severity": None, "failed": [], "error": None,
         "max_severity_tested": 2.0}],
    "distributions": {"a": {"kind": "numeric", "edges": [0, 1, 2], "counts": {
        "reference": [5, 5], "mean_shift 0.5": [4, 6], "mean_shift 2": [1, 9], "current": [2, 8]}}},
}


def test_drift_score_puts_every_test_on_one_scale():
    assert drift_score({"statistic": 0.2, "p_value": 0.05, "threshold": 0.05}) == pytest.approx(1.0)
    assert drift_score({"statistic": 0.4, "p_value": 0.0025, "threshold": 0.05}) == pytest.approx(2.0)
    assert drift_score({"statistic": 0.3, "p_value": None, "threshold": 0.1}) == pytest.approx(3.0)
    assert drift_score({"statistic": 0.9, "p_value": 0.0, "threshold": 0.05}) == 1000.0
    assert drift_score({"statistic": None, "p_value": None, "threshold": 0.05}) is None


def test_widgets_answer_the_four_headline_questions():
    found = widgets(DRIFT)
    assert found["columns"] == {"n_drifted": 2, "n_columns": 3, "share": pytest.approx(2 / 3)}
    assert found["dataset"] == {"detected": True, "share": 0.5, "joint": {"auc": 0.93, "detected": True}}
    # the model reacts most to the all-features shift (0.64), not to the strongest single feature
    assert found["reacts_most"]["label"] == "all features · mean_shift" and found["reacts_most"]["severity"] == 2.0
    assert found["breaking"] == {"label": "b · missing", "severity": 0.5, "why": "the model raised ValueError",
                                 "n_broken": 2, "n_families": 3}
    without = widgets({**DRIFT, "current": None, "breaking_points": DRIFT["breaking_points"][2:]})
    assert without["columns"] is None and without["dataset"] is None
    assert without["breaking"]["label"] is None and without["breaking"]["holds_up_to"] == 2.0
    assert widgets({}) == {"columns": None, "dataset": None, "reacts_most": None, "breaking": None}


def test_rows_sort_by_drift_score_or_by_impact():
    rows = column_rows(DRIFT)
    assert [r["feature"] for r in rows] == ["a", "b", "c"]
    by_name = {r["feature"]: r for r in rows}
    assert by_name["a"]["score"] == pytest.approx(math.log(1e-6) / math.log(0.05))
    assert by_name["b"]["breaks_at"] == 0.5 and by_name["b"]["breaks_kind"] == "missing"
    assert by_name["c"]["impact"] == 0.40 and by_name["b"]["impact"] is None
    assert [r["feature"] for r in sort_rows(rows, "drift")] == ["a", "b", "c"]  # a: score 4.6, b: 3
    assert [r["feature"] for r in sort_rows(rows, "impact")] == ["c", "a", "b"]  # no impact goes last


def test_histogram_is_reference_against_current_else_the_most_drifted_scenario():
    dist = DRIFT["distributions"]["a"]
    assert histogram(dist)["counts"] == {"reference": [5, 5], "current": [2, 8]}
    simulated = {**dist, "counts": {k: v for k, v in dist["counts"].items() if k != "current"}}
    assert histogram(simulated)["counts"] == {"reference": [5, 5], "mean_shift 2": [1, 9]}
    assert histogram(None) is None
    assert column_rows(DRIFT)[0]["histogram"]["edges"] == [0, 1, 2]


def test_scenario_families_rank_by_largest_impact():
    families = scenario_families(DRIFT)
    assert [f["label"] for f in families] == ["all features · mean_shift", "c · mean_shift", "a · mean_shift",
                                              "b · missing"]
    c = families[1]
    assert c["impact"] == {0.5: 0.30, 2.0: 0.40} and c["detected_from"] == 0.5 and c["breaks_at"] == 2.0
    assert families[3]["max_impact"] is None and families[3]["error"].startswith("ValueError")
