"""SHAP interaction values of tree models in the Explainability section against shap's own TreeExplainer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import (
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from modelwatch.core.explain.plan import choose
from modelwatch.core.explain.section import compute
from modelwatch.core.explain.treeshap import Kernel
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.core.warm import warm_up
from modelwatch.dashboard.sections import explainability
from modelwatch.figures.explain import interactions_figure
from tests.core.suite_context import make_context


@pytest.fixture(scope="module", autouse=True)
def compiled():
    """The kernels compiled first, as the warm sandbox worker has them: a compile inside a test's time budget
    (seconds on a loaded machine) would leave it fewer rows than the assertions count."""
    warm_up()


def _reference(model, X, classes_of_rows=None):
    values = np.asarray(shap.TreeExplainer(model).shap_interaction_values(X.to_numpy()), dtype=float)
    if values.ndim == 4:  # (n, p, p, K): each row's predicted class
        values = values[np.arange(len(X)), :, :, classes_of_rows]
    return np.abs(values).mean(axis=0)


@pytest.mark.parametrize("kind", ["multiclass forest", "boosted regressor"])
def test_interaction_matrix_equals_shap(kind):
    if kind == "multiclass forest":
        X, y = load_wine(return_X_y=True, as_frame=True)
        model = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0).fit(X, y)
    else:
        X, y = load_diabetes(return_X_y=True, as_frame=True)
        model = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, y)
    ctx = make_context(model, X.head(60), explain={"max_samples": 30})
    section = compute(ctx)
    found = section["interactions"]
    rows = section["samples"]
    explained = X.iloc[[int(np.flatnonzero((X.head(60) == list(s["row"].values())).all(axis=1))[0]) for s in rows]]
    predicted = model.predict(explained) if kind == "multiclass forest" else None
    reference = _reference(model, explained, predicted)
    keep = [list(X.columns).index(f) for f in found["features"]]
    assert found["n_rows"] == len(rows) == 30
    assert found["engine"].startswith(f"numba Tree SHAP conditioned on the {len(keep)} shown columns")
    assert np.allclose(found["matrix"], reference[np.ix_(keep, keep)], atol=1e-9)
    assert found["features"] == [e["feature"] for e in section["feature_importance"]][:len(keep)]
    a, b = found["top"][0]["features"]
    assert found["top"][0]["mean_abs"] == pytest.approx(reference[list(X.columns).index(a), list(X.columns).index(b)])
    figure = interactions_figure(section)
    assert list(figure.data[0].x) == found["features"] and np.isnan(figure.data[0].z[0][0])
    assert "run-explain-interactions-graph" in str(explainability.render(to_jsonable(section), {"id": "r"}))


def _with_nan(X: pd.DataFrame, every: int = 5) -> pd.DataFrame:
    X = X.copy()
    for j, column in enumerate(X.columns[:4]):
        X.iloc[j::every, X.columns.get_loc(column)] = np.nan
    return X


@pytest.mark.parametrize("kind", ["forest, two outputs", "histogram boosting, one output"])
def test_kernel_interaction_rows_equal_shap_on_rows_with_nan(kind):
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = _with_nan(X.iloc[:, :10])
    if kind.startswith("forest"):
        model = RandomForestClassifier(n_estimators=20, max_depth=7, random_state=0).fit(X.fillna(-1), y)
    else:  # sends missing values down its learned default child
        model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    rows = X.to_numpy()[:40]
    explainer = shap.TreeExplainer(model)
    full = np.asarray(explainer.shap_interaction_values(rows), dtype=float)
    full = full if full.ndim == 4 else full[..., None]  # (n, p, p, outputs)
    held = [7, 0, 3, 9]  # any subset, in any order
    for threads in (1, 2):
        ours = Kernel(explainer.model, threads).interaction_rows(rows, held)
        assert ours.shape == (40, 4, 10, full.shape[3])
        assert np.abs(ours - full[:, held]).max() < 1e-9
    # the diagonal holds the main effect: a row of the matrix sums to the feature's SHAP value
    shap_values = np.asarray(explainer.shap_values(rows), dtype=float)
    shap_values = shap_values if shap_values.ndim == 3 else shap_values[..., None]
    assert np.abs(ours.sum(axis=2) - shap_values[:, held]).max() < 1e-9


def test_encoded_columns_summed_back_on_both_axes():
    X, y = load_wine(return_X_y=True, as_frame=True)
    X = X.iloc[:, :5].assign(band=pd.cut(X["proline"], 4, labels=["a", "b", "c", "d"]).astype(str))
    pre = make_column_transformer((OneHotEncoder(), ["band"]), remainder="passthrough")
    model = make_pipeline(pre, RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0)).fit(X, y)
    ctx = make_context(model, X.head(60), schema={"features": []}, explain={"max_samples": 30})
    section = compute(ctx)
    found = section["interactions"]
    assert found["engine"].startswith("numba") and found["n_rows"] == 30
    explained = pd.DataFrame([s["row"] for s in section["samples"]])[list(X.columns)]
    plan = choose(model, ctx.info, X)
    encoded = np.asarray(shap.TreeExplainer(plan.final).shap_interaction_values(plan.pre.transform(explained)))
    encoded = encoded[np.arange(len(explained)), :, :, model.predict(explained)]  # each row's predicted class
    sums = np.zeros((len(plan.mapping), encoded.shape[1]))
    for raw, cols in enumerate(plan.mapping):
        sums[raw, cols] = 1.0
    reference = np.abs(np.einsum("ai,nij,bj->nab", sums, encoded, sums)).mean(axis=0)
    keep = [list(X.columns).index(f) for f in found["features"]]
    assert "band" in found["features"]
    assert np.allclose(found["matrix"], reference[np.ix_(keep, keep)], atol=1e-9)


def test_xgboost_interactions_come_from_xgboost():
    import xgboost

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    section = compute(make_context(model, X.head(50), explain={"max_samples": 20}))
    found = section["interactions"]
    rows = [int(np.flatnonzero((X.head(50) == list(s["row"].values())).all(axis=1))[0]) for s in section["samples"]]
    reference = np.abs(shap.TreeExplainer(model).shap_interaction_values(X.iloc[rows].to_numpy())).mean(axis=0)
    keep = [list(X.columns).index(f) for f in found["features"]]
    assert found["engine"] == "shap TreeExplainer.shap_interaction_values"
    assert np.allclose(found["matrix"], reference[np.ix_(keep, keep)], atol=1e-5)


def test_no_interactions_for_models_that_are_not_trees():
    X, y = load_wine(return_X_y=True, as_frame=True)
    X = X.iloc[:, :3]
    model = LogisticRegression(max_iter=5000).fit((X - X.mean()) / X.std(), y)
    section = compute(make_context(model, ((X - X.mean()) / X.std()).head(40), explain={"max_samples": 10}))
    assert "interactions" not in section
