"""Model intake through the API: malicious files refused with 422 before anything runs, benign formats accepted."""
from __future__ import annotations

import io
import os
import pickle

import joblib
import numpy as np
import pytest
import skops.io
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier

from tests.core.malicious import _Reduce, build_corpus

CONFIG = '{"n_samples": 50, "batch_sizes": [1]}'


def submit(client, data: bytes, filename: str):
    form = {"model": (io.BytesIO(data), filename), "config": CONFIG}
    return client.post("/run_tests?wait=60", data=form, content_type="multipart/form-data")


@pytest.fixture
def canaries(tmp_path):
    path = tmp_path / "canaries"
    path.mkdir()
    os.chmod(path, 0o777)
    return path


def test_malicious_files_are_refused_with_the_offending_globals(client, canaries):
    corpus = {sample.name: sample for sample in build_corpus(canaries)}
    for name, filename in [("os_system_reduce", "model.pkl"), ("joblib_zlib", "model.joblib"),
                           ("pkgutil_resolve_name", "model.pickle"), ("skops_function", "model.skops"),
                           ("after_joblib_arrays", "model.joblib")]:
        response = submit(client, corpus[name].data, filename)
        assert response.status_code == 422, (name, response.get_json())
        error = response.get_json()["error"]
        assert error["code"] == "unsafe_model"
        assert any(corpus[name].expect in g for g in error["details"]["globals"]), (name, error)
    bomb = submit(client, corpus["bomb_joblib_header"].data, "model.joblib")
    assert bomb.status_code == 422 and bomb.get_json()["error"]["code"] == "unsafe_model"
    assert list(canaries.iterdir()) == []
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/runs").get_json()["total"] == 0  # nothing was stored or run


def test_clear_errors_for_files_that_are_not_models(client):
    cases = [(b"", 422, "corrupt_model"), (os.urandom(64).replace(b"\x80", b"\x01"), None, None),
             (pickle.dumps({"weights": [1, 2]}), 422, "not_a_model"), (pickle.dumps(np.zeros(4)), 422, "not_a_model"),
             (pickle.dumps(_Reduce(len, "abc"))[:-6], 422, "corrupt_model")]
    for data, status, code in cases:
        response = submit(client, data, "model.pkl")
        if status is None:  # random bytes: unsupported (415) or damaged (422), never accepted
            assert response.status_code in (415, 422)
            continue
        assert response.status_code == status, (code, response.get_json())
        assert response.get_json()["error"]["code"] == code
        assert response.get_json()["error"]["message"]


@pytest.mark.usefixtures("sandbox")
def test_benign_compressed_joblib_and_skops_run(client):
    X, y = load_breast_cancer(return_X_y=True)
    model = HistGradientBoostingClassifier(max_iter=5).fit(X, y)
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=("xz", 3))
    for data, filename, fmt in [(buffer.getvalue(), "hgb.joblib", "joblib-xz"),
                                (skops.io.dumps(model), "hgb.skops", "skops")]:
        response = submit(client, data, filename)
        assert response.status_code == 200, response.get_json()
        run = response.get_json()["run"]
        assert run["status"] == "succeeded", run["error"]
        assert run["model"]["format"] == fmt and run["model"]["n_features"] == 30
