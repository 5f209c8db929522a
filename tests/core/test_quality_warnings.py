"""The Quality tab's warnings: a rare class, a class the model mostly misses, a model no better than its baseline."""
from __future__ import annotations

import numpy as np

from modelwatch.core.checks import quality


def _codes(warnings: list[dict]) -> list[tuple[str, str | None]]:
    return [(w["code"], w.get("class") or w.get("metric")) for w in warnings]


def _churn_block():
    """The review's churn model: 15% churners, and it catches about 5% of them."""
    y = np.array([0] * 510 + [1] * 90)
    pred = y.copy()
    pred[510 + 5:] = 0  # 5 of the 90 churners caught: recall 0.056
    pred[:3] = 1
    block = quality.classification_quality(y, pred, None, [0, 1], n_boot=0)
    block["class_names"] = {"1": "churned"}
    return block, quality.baseline(y, "classification", [0, 1])


def test_the_churn_model_that_misses_its_churners_is_called_out():
    block, base = _churn_block()
    warnings = quality.warnings_for(block, base["metrics"])
    assert _codes(warnings) == [("minority_class", "1"), ("low_recall", "1"), ("near_baseline", "balanced_accuracy")]
    low = warnings[1]
    assert low["recall"] == block["per_class"]["1"]["recall"] < 0.06
    assert "class 1 (churned)" in low["message"] and "recall 0.0556" in low["message"]
    assert "15%" in warnings[0]["message"]


def test_a_balanced_good_classifier_gets_no_warning():
    y = np.array([0, 1] * 50)
    pred = y.copy()
    pred[:4] = 1 - pred[:4]
    block = quality.classification_quality(y, pred, None, [0, 1], n_boot=0)
    assert quality.warnings_for(block, quality.baseline(y, "classification", [0, 1])["metrics"]) == []


def test_the_minority_share_threshold_is_strict():
    y = np.array([0] * 80 + [1] * 20)  # exactly 20%: not called out
    block = quality.classification_quality(y, y, None, [0, 1], n_boot=0)
    assert quality.warnings_for(block, None) == []
    y = np.array([0] * 81 + [1] * 19)
    block = quality.classification_quality(y, y, None, [0, 1], n_boot=0)
    assert _codes(quality.warnings_for(block, None)) == [("minority_class", "1")]


def test_classes_absent_from_the_labels_are_ignored():
    y = np.array([0, 1] * 10)
    block = quality.classification_quality(y, y, None, [0, 1, 2], n_boot=0)  # class 2 never occurs
    assert quality.warnings_for(block, None) == []


def test_a_regressor_no_better_than_the_mean_is_called_out():
    rng = np.random.default_rng(0)
    y = rng.normal(size=200)
    noise = quality.regression_quality(y, rng.normal(size=200), n_boot=0)
    base = quality.baseline(y, "regression")["metrics"]
    assert _codes(quality.warnings_for(noise, base)) == [("near_baseline", "r2")]
    good = quality.regression_quality(y, y + 0.1 * rng.normal(size=200), n_boot=0)
    assert quality.warnings_for(good, base) == []


def test_the_tab_leads_with_the_warnings():
    from modelwatch.dashboard.sections import quality as tab

    block, base = _churn_block()
    section = {**block, "task": "classification", "n_rows": 600, "baseline": base,
               "warnings": quality.warnings_for(block, base["metrics"])}
    parts = tab.render(section, {"id": "r"})
    alerts = [p for p in parts if getattr(p, "id", "").startswith("run-quality-warning-")]
    assert [a.id for a in alerts] == ["run-quality-warning-minority_class", "run-quality-warning-low_recall",
                                      "run-quality-warning-near_baseline"]
    assert parts.index(alerts[0]) < next(i for i, p in enumerate(parts) if getattr(p, "id", "") == "run-quality-table")
