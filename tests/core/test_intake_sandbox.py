"""Intake inside the sandbox: every malicious file refused by load_model too, benign models predict exactly."""
from __future__ import annotations

import dataclasses
import fractions
import io
import os
import pickle

import joblib
import lightgbm
import numpy as np
import pandas as pd
import pytest
import skops.io
import xgboost
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingRegressor,
    HistGradientBoostingClassifier,
    RandomForestClassifier,
    StackingClassifier,
    VotingClassifier,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeRegressor

from modelwatch.core.intake.formats import sniff_format
from modelwatch.core.sandbox.runner import Limits, run_task
from modelwatch.errors import ModelError, NotAModel, ResourceLimit, UnsafeModel
from tests.core.malicious import _Reduce, build_corpus
from tests.support import npy

pytestmark = pytest.mark.usefixtures("sandbox")

LIMITS = Limits(timeout_s=60)


def _joblib(model, compress=0) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=compress)
    return buffer.getvalue()


def _sandbox_predict(data: bytes, X, method: str = "predict") -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        payload, files = {"method": method, "csv": "X.csv"}, {"X.csv": X.to_csv(index=False).encode()}
    else:
        payload, files = {"method": method}, {"X.npy": npy(X)}
    return run_task("predict", data, sniff_format(data), payload, files, LIMITS)["arrays"]["output"]


def test_malicious_corpus_refused_inside_the_sandbox(tmp_path):
    canaries = tmp_path / "canaries"
    canaries.mkdir()
    os.chmod(canaries, 0o777)
    corpus = build_corpus(canaries)
    wrong = []
    for sample in corpus:
        try:
            run_task("inspect", sample.data, sniff_format(sample.data), limits=Limits(timeout_s=30))
            wrong.append((sample.name, "accepted"))
        except UnsafeModel:
            pass
        except ResourceLimit:
            if sample.expect:
                wrong.append((sample.name, "resource_limit"))
    assert wrong == []
    assert list(canaries.iterdir()) == []


@pytest.fixture(scope="module")
def data():
    Xc, yc = load_breast_cancer(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"plan": rng.choice(["basic", "plus", "pro"], 200), "tenure": rng.integers(1, 72, 200),
                          "monthly": rng.normal(50, 15, 200).round(2)})
    yf = (frame["plan"] == "basic").to_numpy() ^ (frame["monthly"] > 55).to_numpy()
    return {"Xc": Xc[:300], "yc": yc[:300], "Xr": Xr[:300], "yr": yr[:300], "frame": frame, "yf": yf.astype(int)}


def _benign(d):
    """(kind, fitted model, X, how it is saved): 17 estimator kinds across every format."""
    def lr():
        return LogisticRegression(max_iter=2000)

    ct = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["plan"])], remainder=StandardScaler())
    clf = [
        ("random_forest", RandomForestClassifier(n_estimators=20, random_state=0), "pickle5"),
        ("extra_trees", ExtraTreesClassifier(n_estimators=10, random_state=0), "joblib-lz4"),
        ("hist_gradient_boosting", HistGradientBoostingClassifier(max_iter=10), "joblib-zlib"),
        ("logistic_pipeline", make_pipeline(StandardScaler(), lr()), "skops"),
        ("svc", make_pipeline(StandardScaler(), SVC(random_state=0)), "joblib-gzip"),
        ("knn", KNeighborsClassifier(), "joblib-bz2"),
        ("grid_search", GridSearchCV(make_pipeline(StandardScaler(), lr()), {"logisticregression__C": [0.1, 1]}, cv=2),
         "pickle3"),
        ("calibrated", CalibratedClassifierCV(make_pipeline(StandardScaler(), lr()), cv=2), "pickle2"),
        ("stacking", StackingClassifier([("lr", make_pipeline(StandardScaler(), lr())),
                                         ("rf", RandomForestClassifier(n_estimators=5, random_state=0))], cv=2),
         "pickle0"),
        ("voting", VotingClassifier([("lr", make_pipeline(StandardScaler(), lr())), ("knn", KNeighborsClassifier())],
                                    voting="soft"), "joblib"),
        ("xgboost", xgboost.XGBClassifier(n_estimators=10, max_depth=3), "pickle4"),
        ("function_transformer", make_pipeline(FunctionTransformer(np.log1p), lr()), "joblib-xz"),
    ]
    reg = [
        ("gradient_boosting", GradientBoostingRegressor(n_estimators=20, random_state=0), "joblib"),
        ("ridge", Ridge(), "pickle2"),
        ("decision_tree", DecisionTreeRegressor(max_depth=5), "joblib-xz"),
        ("mlp", MLPRegressor(hidden_layer_sizes=(8,), max_iter=300, random_state=0), "skops"),
        ("lightgbm", lightgbm.LGBMRegressor(n_estimators=10, verbose=-1), "joblib"),
    ]
    out = [(k, m.fit(d["Xc"], d["yc"]), d["Xc"], how) for k, m, how in clf]
    out += [(k, m.fit(d["Xr"], d["yr"]), d["Xr"], how) for k, m, how in reg]
    out.append(("column_transformer", make_pipeline(ct, lr()).fit(d["frame"], d["yf"]), d["frame"], "pickle4"))
    return out


def _save(model, how: str) -> bytes:
    if how.startswith("pickle"):
        return pickle.dumps(model, protocol=int(how[-1]))
    if how == "skops":
        return skops.io.dumps(model)
    if how == "joblib":
        return _joblib(model)
    return _joblib(model, (how.split("-")[1], 3))


def _plain_load(blob: bytes, how: str):
    """How a user loads the file in their own process (the unsafe reference)."""
    if how.startswith("pickle"):
        return pickle.loads(blob)
    if how == "skops":
        return skops.io.loads(blob, trusted=skops.io.get_untrusted_types(data=blob))
    return joblib.load(io.BytesIO(blob))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_benign_models_predict_in_the_sandbox_exactly_as_plain_loading(data):
    benign = _benign(data)
    assert len({kind for kind, *_ in benign}) >= 12
    assert {how.split("-")[0].rstrip("012345") for *_, how in benign} == {"pickle", "joblib", "skops"}
    wrong = []
    for kind, model, X, how in benign:
        blob = _save(model, how)
        plain = _plain_load(blob, how)
        method = "predict_proba" if hasattr(plain, "predict_proba") else "predict"
        expected = getattr(plain, method)(X)
        got = _sandbox_predict(blob, X, method)
        if not np.array_equal(got, expected):
            wrong.append((kind, how))
    assert wrong == []


def test_inspect_reports_intake_and_protections(data):
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(data["Xc"], data["yc"])
    info = run_task("inspect", pickle.dumps(model), "pickle", limits=LIMITS)
    assert info["type"] == "sklearn.ensemble._forest.RandomForestClassifier"
    assert info["intake"]["allowlist"] is True and info["intake"]["allowlist_bypassed"] is False
    assert info["sandbox"]["rlimits"] and "seccomp" in info["sandbox"]


def test_only_inspect_reads_what_the_model_knows_of_its_inputs(data):
    """The priors (split thresholds here) serve schema inference, which inspect feeds; other tasks skip reading
    them (an XGBoost model's trees took ~25 ms of each suite process's start)."""
    blob = pickle.dumps(RandomForestClassifier(n_estimators=3, random_state=0).fit(data["Xc"], data["yc"]))
    assert run_task("inspect", blob, "pickle", limits=LIMITS)["priors"]
    predicted = run_task("predict", blob, "pickle", {"method": "predict"}, {"X.npy": npy(data["Xc"])}, LIMITS)
    assert "priors" not in predicted["info"]


def test_not_a_model_and_model_errors(data):
    with pytest.raises(NotAModel):
        run_task("inspect", pickle.dumps({"a": 1}), "pickle", limits=LIMITS)
    with pytest.raises(NotAModel):
        run_task("inspect", pickle.dumps(np.zeros(3)), "pickle", limits=LIMITS)
    model = Ridge().fit(data["Xr"], data["yr"])
    with pytest.raises(ModelError) as info:
        _sandbox_predict(pickle.dumps(model), data["Xc"])  # 30 features for a 10-feature model
    assert info.value.details["type"] == "ValueError"
    assert "features" in info.value.message


def test_trusted_mode_bypasses_the_allowlist_but_stays_sandboxed(data, tmp_path):
    model = Ridge().fit(data["Xr"], data["yr"])
    model.note_ = fractions.Fraction(1, 3)  # a class outside the allowlist
    blob = pickle.dumps(model)
    with pytest.raises(UnsafeModel):
        run_task("inspect", blob, "pickle", limits=LIMITS)
    trusted = dataclasses.replace(LIMITS, trusted=True)  # the operator's switch, passed in by the app
    info = run_task("inspect", blob, "pickle", limits=trusted)
    assert info["intake"]["allowlist_bypassed"] is True and info["intake"]["trusted_mode"] is True
    # Still sandboxed: a payload that would start a process is stopped by seccomp when it is available.
    if not info["sandbox"]["seccomp"]:
        pytest.skip("libseccomp is not available here")
    canary = tmp_path / "trusted-canary"
    os.chmod(tmp_path, 0o777)
    import subprocess

    with pytest.raises(ModelError, match="PermissionError"):
        run_task("inspect", pickle.dumps(_Reduce(subprocess.Popen, ["touch", str(canary)])), "pickle", limits=trusted)
    with pytest.raises(NotAModel):
        run_task("inspect", pickle.dumps(_Reduce(os.system, f"touch {canary}")), "pickle", limits=trusted)
    assert not canary.exists()


def test_native_xgboost_and_lightgbm_files(data):
    X, y = data["Xc"], data["yc"]
    xgb = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    for raw in (bytes(xgb.get_booster().save_raw("json")), bytes(xgb.get_booster().save_raw("ubj"))):
        assert np.allclose(_sandbox_predict(raw, X, "predict_proba"), xgb.predict_proba(X))
    lgbm = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1).fit(data["Xr"], data["yr"])
    text = lgbm.booster_.model_to_string().encode()
    assert np.allclose(_sandbox_predict(text, data["Xr"]), lgbm.predict(data["Xr"]))
    binary = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    text = binary.booster_.model_to_string().encode()
    assert np.allclose(_sandbox_predict(text, X, "predict_proba"), binary.predict_proba(X))
