"""The web worker keeps answering while hostile files are uploaded: each is refused with 422 by the scan."""
from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

CONFIG = '{"n_samples": 50, "batch_sizes": [1]}'
# One file of each kind that once crashed, pinned or fooled the web process (the scan test covers them all).
POSTED = ("nested_tuple_frozenset", "nested_marks_frozenset", "mark_pop_mark_flood", "framed_array_wrapper",
          "dtype_flags_cleared_header", "global_dotted_name", "joblib_bz2_bomb", "skops_bzip2_schema_bomb",
          "skops_declared_bomb", "skops_function_as_object")


def _submit(client, data: bytes, filename: str = "model.pkl"):
    form = {"model": (io.BytesIO(data), filename), "config": CONFIG}
    return client.post("/run_tests?wait=0", data=form, content_type="multipart/form-data")


def test_health_answers_between_hostile_uploads(client, scan_corpus):
    wrong = []
    for case in (scan_corpus[name] for name in POSTED):
        response = _submit(client, case.data)
        code = (response.get_json() or {}).get("error", {}).get("code")
        if response.status_code not in (413, 422) or code not in case.allowed:
            wrong.append((case.name, response.status_code, code))
        assert client.get("/api/health").status_code == 200
    assert wrong == []
    assert client.get("/api/runs").get_json()["total"] == 0


@pytest.mark.usefixtures("sandbox")
def test_a_tiny_file_claiming_thousands_of_features_is_refused_at_upload(client, app):
    """737 bytes claiming 15,000 features once cost 18.6 s of schema validation per run: capped by a setting."""
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    model.n_features_in_ = app.config["MAX_FEATURES"] + 1
    response = _submit(client, pickle.dumps(model, protocol=5))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "unsupported_model"
    assert error["details"]["n_features"] == app.config["MAX_FEATURES"] + 1
