"""The Quality tab's curves and cut-off table against scikit-learn on hostile inputs: ties, one class, tiny n."""
from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from modelwatch.core.checks import quality


def _hostile():
    rng = np.random.default_rng(7)
    n = 300
    hit = rng.random(n) < 0.15
    score = np.clip(0.3 * hit + rng.random(n) * 0.7, 0, 1)
    return {
        "typical": (hit, score),
        "ties": (hit, np.round(score, 1)),  # eleven distinct scores, many rows on each
        "all_tied": (hit, np.full(n, 0.5)),
        "on_the_cuts": (hit, np.round(score, 2)),  # scores equal to the table's own cut-offs
        "one_class_positive": (np.ones(20, dtype=bool), rng.random(20)),
        "one_class_negative": (np.zeros(20, dtype=bool), rng.random(20)),
        "tiny": (np.array([True, False]), np.array([0.4, 0.6])),
        "tiny_tied": (np.array([True, False, True]), np.array([0.5, 0.5, 0.9])),
    }


HOSTILE = _hostile()


@pytest.mark.parametrize("case", sorted(HOSTILE))
@pytest.mark.parametrize("probability", [True, False])
def test_cutoff_table_equals_sklearns_confusion_matrix(case, probability):
    hit, score = HOSTILE[case]
    score = score if probability else 4 * score - 2  # decision scores around 0
    table = quality.cutoff_table(hit, score, probability)
    assert len(table["threshold"]) <= quality.N_CUTOFFS + 1
    assert table["threshold"] == sorted(table["threshold"])
    assert table["default"] in table["threshold"]
    for i, t in enumerate(table["threshold"]):
        tn, fp, fn, tp = skm.confusion_matrix(hit, score >= t, labels=[False, True]).ravel()
        assert (table["tp"][i], table["fp"][i], table["tn"][i], table["fn"][i]) == (tp, fp, tn, fn), t


@pytest.mark.parametrize("case", [c for c in sorted(HOSTILE) if not c.startswith("one_class")])
def test_cutoff_table_passes_through_every_roc_point(case):
    """At each of roc_curve's thresholds, the table's rates (computed the same way) are its fpr and tpr."""
    hit, score = HOSTILE[case]
    fpr, tpr, thresholds = skm.roc_curve(hit, score, drop_intermediate=False)
    table = quality.cutoff_table(hit, np.asarray(score), probability=True)
    rates = {round(t, 12): (fp / max(fp + tn, 1), tp / max(tp + fn, 1))
             for t, tp, fp, tn, fn in zip(table["threshold"], table["tp"], table["fp"], table["tn"], table["fn"])}
    for f, r, t in zip(fpr, tpr, thresholds):
        if round(float(t), 12) in rates:
            assert rates[round(float(t), 12)] == pytest.approx((f, r))


@pytest.mark.parametrize("case", [c for c in sorted(HOSTILE) if not c.startswith("one_class")])
def test_gains_curve_counts_positives_caught_from_the_top(case):
    hit, score = HOSTILE[case]
    gains = quality.gains_curve(hit, score)
    # the reference: walk the distinct scores from the highest down, taking tied rows together
    taken, captured = [0.0], [0.0]
    for t in np.unique(score)[::-1]:
        chosen = score >= t
        taken.append(chosen.mean())
        captured.append(hit[chosen].sum() / hit.sum())
    assert len(gains["taken"]) <= quality.MAX_CURVE_POINTS
    assert gains["taken"][0] == 0.0 and gains["taken"][-1] == pytest.approx(1.0)
    assert gains["captured"][-1] == pytest.approx(1.0)
    if len(taken) <= quality.MAX_CURVE_POINTS:
        assert gains["taken"] == pytest.approx(taken) and gains["captured"] == pytest.approx(captured)
    assert gains["positive_share"] == pytest.approx(hit.mean())


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_binary_section_curves_equal_sklearn(case):
    hit, score = HOSTILE[case]
    classes = ["no", "yes"]  # sorted, as a fitted model's classes_
    y = np.where(hit, "yes", "no")
    proba = np.column_stack([1 - score, score])
    pred = np.where(score > 0.5, "yes", "no")
    block = quality.classification_quality(y, pred, proba, classes, n_boot=0)
    curves = block["curves"]
    if hit.all() or not hit.any():  # one class: no ROC, PR or gains, but the cut-off table and calibration
        assert curves["roc"] == {} and curves["pr"] == {} and curves["gains"] == {}
        assert block["metrics"]["roc_auc"] is None
    else:
        fpr, tpr, _ = skm.roc_curve(hit, score)
        assert curves["roc"]["yes"]["auc"] == pytest.approx(skm.roc_auc_score(hit, score))
        if len(fpr) <= quality.MAX_CURVE_POINTS:
            assert curves["roc"]["yes"]["fpr"] == pytest.approx(fpr.tolist())
            assert curves["roc"]["yes"]["tpr"] == pytest.approx(tpr.tolist())
        precision, recall, _ = skm.precision_recall_curve(hit, score)
        if len(recall) <= quality.MAX_CURVE_POINTS:
            assert curves["pr"]["yes"]["recall"] == pytest.approx(recall.tolist())
            assert curves["pr"]["yes"]["precision"] == pytest.approx(precision.tolist())
    frac, mean = calibration_curve(hit, score, n_bins=quality.CALIBRATION_BINS)
    assert curves["calibration"]["fraction_positive"] == pytest.approx(frac.tolist())
    assert curves["calibration"]["mean_predicted"] == pytest.approx(mean.tolist())
    assert sum(curves["calibration"]["count"]) == len(y)
    table = block["cutoffs"]
    at_half = table["threshold"].index(0.5)
    assert table["tp"][at_half] + table["fn"][at_half] == hit.sum()
    assert table["tp"][at_half] + table["fp"][at_half] == (score >= 0.5).sum()


def test_multiclass_has_no_cutoff_table():
    y = np.array([0, 1, 2, 2, 1, 0])
    proba = np.eye(3)[[0, 1, 2, 1, 1, 0]] * 0.8 + 0.2 / 3
    block = quality.classification_quality(y, proba.argmax(axis=1), proba, [0, 1, 2], n_boot=0)
    assert block["cutoffs"] is None and set(block["curves"]["gains"]) == {"0", "1", "2"}
