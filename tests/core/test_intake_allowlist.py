"""The allowlist data file: generated for the pinned versions, complete for predictors, and fail-closed."""
from __future__ import annotations

import json
from importlib.metadata import version

import pytest
from sklearn.utils import all_estimators

from modelwatch.core.intake.allowlist import ALLOWLIST_PATH, is_never, load_allowlist, offenders


def test_generated_for_the_installed_versions():
    document = json.loads(ALLOWLIST_PATH.read_text())
    versions = document["generated_for"]
    for package in ("scikit-learn", "numpy", "scipy", "lightgbm", "xgboost-cpu"):
        assert versions[package] == version(package), package


def test_every_sklearn_predictor_and_the_boosting_wrappers_are_allowed():
    allowlist = load_allowlist()
    missing = [f"{cls.__module__}.{cls.__qualname__}" for _, cls in all_estimators()
               if hasattr(cls, "predict") and (cls.__module__, cls.__qualname__) not in allowlist]
    assert missing == []
    for module, name in [("sklearn.pipeline", "Pipeline"), ("sklearn.compose._column_transformer", "ColumnTransformer"),
                         ("sklearn.model_selection._search", "GridSearchCV"),
                         ("sklearn.calibration", "CalibratedClassifierCV"),
                         ("sklearn.ensemble._stacking", "StackingClassifier"),
                         ("sklearn.ensemble._voting", "VotingClassifier"),
                         ("sklearn.ensemble._hist_gradient_boosting.gradient_boosting",
                          "HistGradientBoostingClassifier"),
                         ("xgboost.sklearn", "XGBClassifier"), ("lightgbm.sklearn", "LGBMRegressor"),
                         ("sklearn.tree._tree", "Tree"), ("sklearn.utils._bunch", "Bunch")]:
        assert (module, name) in allowlist, f"{module}.{name}"


def test_nothing_dangerous_is_allowed():
    allowlist = load_allowlist()
    assert [f"{m}.{n}" for m, n in allowlist if is_never(m, n)] == []
    for key in [("builtins", "eval"), ("builtins", "getattr"), ("posix", "system"), ("numpy", "load"),
                ("sklearn.utils._testing", "check_output"), ("functools", "partial"), ("operator", "attrgetter")]:
        assert key not in allowlist
    calls = {k for k, usages in allowlist.items() if "call" in usages}
    assert ("numpy", "dtype") in calls and ("builtins", "slice") in calls
    assert not any(m == "numpy" and n not in ("dtype",) for m, n in calls)


def test_fails_closed_on_a_forbidden_or_missing_file(tmp_path):
    bad = tmp_path / "allowlist.json"
    bad.write_text(json.dumps({"entries": {"sklearn.linear_model._base": {"LinearRegression": ["new"]},
                                           "os": {"system": ["call"]}}}))
    with pytest.raises(RuntimeError, match="forbidden"):
        load_allowlist(str(bad))
    with pytest.raises(RuntimeError):
        load_allowlist(str(tmp_path / "missing.json"))


def test_usage_is_checked_not_only_the_name():
    allowlist = load_allowlist()
    # LinearRegression may be instantiated but not called with arguments by REDUCE.
    key = ("sklearn.linear_model._base", "LinearRegression")
    assert offenders({key: {"new"}}, allowlist) == []
    assert offenders({key: {"call"}}, allowlist) == ["sklearn.linear_model._base.LinearRegression"]
    assert offenders({("numpy", "log1p"): {"value"}}, allowlist) == []
    assert offenders({("numpy", "log1p"): {"call"}}, allowlist) == ["numpy.log1p"]
