"""The structural validation and the leak-free JSON on objects built here (nothing hostile is unpickled)."""
from __future__ import annotations

import copy

import numpy as np
import pytest
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_array

from modelwatch.core.intake.validate import validate_model
from modelwatch.core.model.introspect import describe
from modelwatch.core.results.jsonable import to_jsonable
from modelwatch.errors import CorruptModel


def test_benign_models_pass(forest, churn_pipeline):
    validate_model(forest)
    validate_model(churn_pipeline)
    validate_model(FunctionTransformer(np.log1p))


def test_a_tree_pointing_outside_its_features_is_named(forest):
    model = copy.deepcopy(forest)
    state = model.estimators_[3].tree_.__getstate__()
    state["nodes"]["feature"][0] = 10**9
    model.estimators_[3].tree_.__setstate__(state)
    with pytest.raises(CorruptModel, match=r"estimators_\[3\]\.tree_ has a node whose feature index"):
        validate_model(model)


def test_sparse_indices_and_unreviewed_functions_are_refused():
    X, y = np.eye(4), [0, 1, 0, 1]
    model = LogisticRegression().fit(X, y)
    model.coef_ = sparse.csr_matrix(model.coef_)
    model.coef_.indices[0] = 10**6
    with pytest.raises(CorruptModel, match="coef_ is an inconsistent sparse matrix"):
        validate_model(model)
    import sklearn.cluster._kmeans as kmeans

    with pytest.raises(CorruptModel, match="_kmeans_single_lloyd"):
        validate_model(FunctionTransformer(kmeans._kmeans_single_lloyd))


def test_labels_must_be_plain_scalars_and_never_leak_addresses():
    model = LogisticRegression().fit(np.eye(2), [0, 1])
    model.feature_names_in_ = np.array([check_array, "b"], dtype=object)
    with pytest.raises(CorruptModel, match="feature_names_in_"):
        validate_model(model)
    with pytest.raises(CorruptModel, match="feature names"):
        describe(model)
    leaf = to_jsonable({"f": check_array, object(): [1, np.float64("nan"), np.int64(3)]})
    assert leaf == {"f": "<builtins.function>", "<builtins.object>": [1, None, 3]}
    assert "0x" not in str(to_jsonable([object(), check_array, lambda: 0]))
