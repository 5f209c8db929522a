"""A run's CSV is taken in chunks: matched, renamed and compressed on the way, never held whole."""
from __future__ import annotations

import gzip
import io
import tracemalloc

import numpy as np
import pytest

from modelwatch.app import create_app
from modelwatch.core.schema.from_csv import read_csv_bytes
from modelwatch.errors import BadRequest, PayloadTooLarge, SchemaMismatch
from modelwatch.models import ModelArtifact
from modelwatch.services.csv_uploads import store_csv
from tests.conftest import make_config


@pytest.fixture(scope="module")
def context(tmp_path_factory):
    app = create_app(make_config(f"sqlite:///{tmp_path_factory.mktemp('csv') / 'x.db'}", MAX_UPLOAD_MB=20))
    with app.app_context():
        yield app


@pytest.fixture(scope="module")
def cancer_csv(cancer) -> bytes:
    """~12 MB of breast-cancer rows (semicolons, a BOM, spaces in the names) with their label."""
    X, y = cancer
    rng = np.random.default_rng(0)
    picked = rng.integers(0, len(X), 25_000)
    frame = X.iloc[picked].reset_index(drop=True) * (1 + 0.01 * rng.standard_normal((len(picked), X.shape[1])))
    frame["label"] = y.iloc[picked].to_numpy()
    return b"\xef\xbb\xbf" + frame.to_csv(index=False, sep=";").encode()


def _artifact(cancer) -> ModelArtifact:
    """A model fitted on the sanitised names (as LightGBM stores them): the CSV's columns get renamed."""
    names = [str(c).replace(" ", "_") for c in cancer[0].columns]
    return ModelArtifact(info={"type": "lightgbm.sklearn.LGBMClassifier", "feature_names": names,
                               "n_features": len(names), "task": "classification", "classes": [0, 1]})


def test_a_large_csv_is_matched_renamed_and_compressed_in_bounded_memory(context, cancer, cancer_csv):
    tracemalloc.start()
    try:
        stored = store_csv(io.BytesIO(cancer_csv), _artifact(cancer), "label")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    try:
        assert peak < len(cancer_csv) / 3  # a few 1 MB chunks, never the file
        assert stored.size == len(cancer_csv) and stored.delimiter == ";"
        assert stored.match.mapped["mean radius"] == "mean_radius"
        kept = gzip.decompress(stored.compressed())
        assert kept.split(b"\n", 1)[0].startswith(b"mean_radius;mean_texture;")
        assert kept.split(b"\n", 1)[1] == cancer_csv.split(b"\n", 1)[1]  # the rows byte for byte
        expected = read_csv_bytes(cancer_csv)
        frame = stored.frame()
        assert frame.shape == expected.shape and frame.columns[0] == "mean_radius"
        assert np.allclose(frame.to_numpy(), expected.to_numpy())
    finally:
        stored.close()


def test_a_bad_byte_far_in_the_file_is_reported_where_it_is(context, cancer, cancer_csv):
    position = len(cancer_csv) - 100  # in the last chunk
    broken = cancer_csv[:position] + b"\xff" + cancer_csv[position + 1:]
    with pytest.raises(BadRequest, match=f"byte 0xff at position {position}"):
        store_csv(io.BytesIO(broken), _artifact(cancer), "label")


class _Endless(io.RawIOBase):
    """A header, then rows without end: a stream that must never be read to its end."""

    def __init__(self, header: bytes, row: bytes) -> None:
        self.pending, self.row = header, row

    def read(self, size: int = -1) -> bytes:
        data, self.pending = self.pending, b""
        return data or self.row * max(1, size // len(self.row))


def test_a_mismatch_is_refused_from_the_header_and_a_file_over_the_cap_as_it_arrives(context, cancer, cancer_csv):
    with pytest.raises(SchemaMismatch) as refused:
        store_csv(io.BytesIO(b"a;b;label\n1;2;0\n"), _artifact(cancer), "label")
    assert "mean_radius" in refused.value.details["missing"]
    header, row = cancer_csv.split(b"\n")[:2]
    with pytest.raises(PayloadTooLarge):  # the cap is 20 MB here
        store_csv(_Endless(header + b"\n", row + b"\n"), _artifact(cancer), "label")
