"""The per-process memory of computed values: bounded, least recently used first out, copies where asked; and the
schema a sample infers, remembered for the next POST of the same sample."""
from __future__ import annotations

import io

import pytest

from modelwatch.app import create_app
from modelwatch.models import ModelArtifact
from modelwatch.services import schemas
from modelwatch.services.csv_uploads import store_csv
from modelwatch.services.memo import Memo
from tests.conftest import make_config


def test_a_memo_computes_each_key_once_and_forgets_the_least_recently_used():
    computed: list[str] = []

    def compute(missing):
        computed.extend(missing)
        return {key: key.upper() for key in missing}

    memo = Memo(2)
    assert memo.get_many(["a", "b"], compute) == {"a": "A", "b": "B"}
    assert memo.get("a", lambda: "never") == "A"  # remembered: "a" is now the most recent
    assert memo.get_many(["a", "c"], compute) == {"a": "A", "c": "C"}  # only "c" computed; "b" goes
    assert computed == ["a", "b", "c"]
    assert memo.get("b", lambda: "again") == "again" and list(memo.values) == ["c", "b"]


def test_a_memo_of_copies_hands_each_caller_its_own_value():
    memo = Memo(4, copies=True)
    first = memo.get("k", lambda: {"features": [1, 2]})
    first["features"].append(3)
    assert memo.get("k", lambda: None) == {"features": [1, 2]}


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    app = create_app(make_config(f"sqlite:///{tmp_path_factory.mktemp('memo') / 'x.db'}"))
    with app.app_context():
        yield app


def test_the_same_sample_infers_the_same_schema_from_memory_and_a_change_infers_again(context, cancer):
    X, y = cancer
    names = list(X.columns)
    artifact = ModelArtifact(info={"type": "sklearn.ensemble.RandomForestClassifier", "feature_names": names,
                                   "n_features": len(names), "task": "classification", "classes": [0, 1]})
    data = X.assign(label=y).head(200).to_csv(index=False).encode()

    def inferred(csv: bytes, target: str | None = "label") -> dict:
        stored = store_csv(io.BytesIO(csv), artifact, target)
        try:
            return schemas.infer_schema(stored, artifact, target)
        finally:
            stored.close()

    first = inferred(data)
    remembered = len(schemas.INFERRED.values)
    first["schema"]["features"].clear()  # the caller's copy: the next one is whole
    again = inferred(data)
    assert len(schemas.INFERRED.values) == remembered  # served from memory
    assert again == schemas._infer(data, artifact.info, "label")  # what inferring anew gives
    assert len(again["schema"]["features"]) == len(names)
    assert again["schema"]["target"]["name"] == "label"
    other = X.assign(label=y).head(150).to_csv(index=False).encode()
    assert inferred(other)["schema"] != again["schema"]  # other rows: inferred anew
    assert len(schemas.INFERRED.values) == remembered + 1
    artifact.info = {**artifact.info, "classes": [0, 1, 2]}  # the model's introspection is part of the key
    assert inferred(data)["schema"]["target"]["classes"] == [0, 1, 2]
    assert len(schemas.INFERRED.values) == remembered + 2
