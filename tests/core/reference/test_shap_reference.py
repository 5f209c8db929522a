"""SHAP on data with missing values, against the ``shap`` package: the run's own path and the numba kernel.

A missing value must take the node's default child (sklearn's ``missing_go_to_left``, HGB's, XGBoost's and
LightGBM's learned direction), so the values agree with shap and add up to the model's own output.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor, RandomForestClassifier

from modelwatch.core.explain.common import Budget
from modelwatch.core.explain.plan import choose
from modelwatch.core.explain.tree import explain_tree
from modelwatch.core.explain.treeshap import Kernel
from tests.core.suite_context import make_context

# shap's numba kernels compile on first use (~10 s): `make test` runs this module, `make test-fast` does not
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cancer_with_nan():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8].copy()
    X.columns = [f"f{i}" for i in range(8)]  # LightGBM renames spaces; plain names keep every model comparable
    rng = np.random.default_rng(0)
    for column in ("f0", "f2", "f5"):
        X.loc[rng.random(len(X)) < 0.15, column] = np.nan
    return X.iloc[:450], y.iloc[:450], X.iloc[450:490]


def _models():
    import lightgbm
    import xgboost

    return {
        "random_forest": RandomForestClassifier(n_estimators=15, max_depth=6, random_state=0),
        "hist_gradient_boosting": HistGradientBoostingClassifier(max_iter=30, random_state=0),
        "xgboost": xgboost.XGBClassifier(n_estimators=30, max_depth=3),
        "lightgbm": lightgbm.LGBMClassifier(n_estimators=30, num_leaves=8, verbose=-1),
    }


def _shap_reference(model, rows: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = np.asarray(shap.TreeExplainer(model).shap_values(rows, check_additivity=False), dtype=float)
    return values if values.ndim == 3 else values[:, :, None]


@pytest.mark.parametrize("name", ["random_forest", "hist_gradient_boosting", "xgboost", "lightgbm"])
def test_run_path_matches_shap_on_rows_with_nan(cancer_with_nan, name):
    X, y, rows = cancer_with_nan
    model = _models()[name].fit(X, y)
    info = make_context(model, X).info
    att = explain_tree(choose(model, info, X), info, rows, Budget(60.0))
    assert len(att.rows) == len(rows) and rows.isna().any(axis=1).sum() >= 10
    reference = _shap_reference(model, rows)
    if reference.shape[2] == 2 and att.values.shape[2] == 1:
        reference = reference[:, :, 1:]
    assert np.abs(att.values - reference).max() < 1e-5
    additivity = np.abs(att.base[None, :] + att.values.sum(axis=1) - att.output).max()
    assert additivity < 1e-4 * max(1.0, np.abs(att.output).max())


@pytest.mark.parametrize("model", [
    RandomForestClassifier(n_estimators=10, max_depth=8, random_state=0),
    HistGradientBoostingRegressor(max_iter=20, random_state=0),
    HistGradientBoostingClassifier(max_iter=20, random_state=0),
], ids=["random_forest", "hgb_regressor", "hgb_classifier"])
def test_kernel_sends_missing_values_to_the_default_child(cancer_with_nan, model):
    X, y, rows = cancer_with_nan
    model.fit(X.to_numpy(), y.to_numpy() * 1.0 if "Regressor" in type(model).__name__ else y)
    explainer = shap.TreeExplainer(model)
    ours = Kernel(explainer.model, 2).shap_values(rows.to_numpy())
    reference = _shap_reference(model, rows.to_numpy())
    assert np.abs(ours - reference).max() < 1e-9
    if isinstance(model, RandomForestClassifier):  # probabilities: additivity against the model itself
        total = np.asarray(explainer.expected_value)[None, :] + ours.sum(axis=1)
        assert np.abs(total - model.predict_proba(rows.to_numpy())).max() < 1e-9
