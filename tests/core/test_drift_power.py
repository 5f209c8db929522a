"""Detector power and false-positive rate on resamples; the domain classifier catches a correlation flip."""
from __future__ import annotations

import numpy as np
import pandas as pd

from modelwatch.core.drift.detect import detect_frame
from modelwatch.core.drift.multivariate import domain_classifier
from modelwatch.core.drift.power import detection_power
from modelwatch.core.drift.stattests import Selection

SCHEMA = {"schema_version": 1, "features": [{"name": "x", "type": "float"}], "target": None}


def test_one_sigma_shift_on_1000_rows_is_detected_and_severity_zero_rarely():
    reference = pd.DataFrame({"x": np.random.default_rng(0).normal(size=1000)})
    shifted = detection_power(reference, SCHEMA, "mean_shift", "x", 1.0, n_resamples=100, seed=1)
    assert shifted["test"] == "ks" and shifted["n_resamples"] == 100
    assert shifted["power"] >= 0.95
    baseline = detection_power(reference, SCHEMA, "mean_shift", "x", 0.0, n_resamples=300, seed=2)
    assert baseline["power"] <= 0.07


def test_power_respects_the_deadline():
    reference = pd.DataFrame({"x": np.random.default_rng(0).normal(size=100)})
    out = detection_power(reference, SCHEMA, "scale", "x", 1.0, n_resamples=50, deadline=0.0)
    assert out == {"power": None, "n_resamples": 0, "interval": None, "test": None}


def test_domain_classifier_catches_a_correlation_flip_univariate_tests_miss():
    rng = np.random.default_rng(3)
    n = 1000
    cov = [[1, 0.9], [0.9, 1]]
    half = rng.multivariate_normal([0, 0], cov, n // 2)
    ref = pd.DataFrame(np.vstack([half, -half]), columns=["a", "b"])  # symmetric: b and -b have the same values
    cur = pd.DataFrame({"a": ref["a"], "b": -ref["b"]})  # identical marginals, correlation -0.9 instead of 0.9
    for test in ("ks", "wasserstein", "psi", "jensenshannon"):
        univariate = detect_frame(ref, cur, Selection(tests={"all": test}))
        assert not any(c["drift_detected"] for c in univariate["columns"])
    result = domain_classifier(ref, cur, seed=0)
    assert result["drift_detected"] and result["auc"] > 0.8
    same = domain_classifier(ref, pd.DataFrame(rng.multivariate_normal([0, 0], cov, n), columns=["a", "b"]))
    assert not same["drift_detected"]
