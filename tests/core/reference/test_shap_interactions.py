"""SHAP interaction values of tree models in the Explainability section against shap's own TreeExplainer."""
from __future__ import annotations

import numpy as np
import pytest
import shap
from sklearn.datasets import load_diabetes, load_wine
from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from modelwatch.core.explain.section import compute
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.dashboard.sections import explainability
from modelwatch.figures.explain import interactions_figure
from tests.core.suite_context import make_context


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
    assert np.allclose(found["matrix"], reference[np.ix_(keep, keep)], atol=1e-9)
    assert found["features"] == [e["feature"] for e in section["feature_importance"]][:len(keep)]
    a, b = found["top"][0]["features"]
    assert found["top"][0]["mean_abs"] == pytest.approx(reference[list(X.columns).index(a), list(X.columns).index(b)])
    figure = interactions_figure(section)
    assert list(figure.data[0].x) == found["features"] and np.isnan(figure.data[0].z[0][0])
    assert "run-explain-interactions-graph" in str(explainability.render(to_jsonable(section), {"id": "r"}))


def test_no_interactions_for_models_that_are_not_trees():
    X, y = load_wine(return_X_y=True, as_frame=True)
    X = X.iloc[:, :3]
    model = LogisticRegression(max_iter=5000).fit((X - X.mean()) / X.std(), y)
    section = compute(make_context(model, ((X - X.mean()) / X.std()).head(40), explain={"max_samples": 10}))
    assert "interactions" not in section
