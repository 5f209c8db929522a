"""The static scan, the allowlist unpickler and the format sniffing, in-process (no sandbox)."""
from __future__ import annotations

import io
import json
import os
import pickle
import zipfile
import zlib

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier

from modelwatch.core.intake import scan
from modelwatch.core.intake.allowlist import load_allowlist
from modelwatch.core.intake.formats import decompress, sniff_format
from modelwatch.core.intake.unpickler import restricted_loads
from modelwatch.errors import CorruptModel, NotAModel, PayloadTooLarge, UnsafeModel, UnsupportedFormat
from tests.core.malicious import build_corpus


@pytest.fixture(scope="module")
def canary_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("canaries")
    os.chmod(path, 0o777)  # writable by anyone, so that a payload that ran could leave its canary
    return path


@pytest.fixture(scope="module")
def corpus(canary_dir):
    return build_corpus(canary_dir)


@pytest.fixture(scope="module")
def forest():
    X, y = load_breast_cancer(return_X_y=True)
    return RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0).fit(X, y), X


def test_corpus_is_large_enough(corpus):
    assert len(corpus) >= 25
    assert len({s.name for s in corpus}) == len(corpus)


def test_scan_refuses_every_malicious_file_and_names_the_offender(corpus, canary_dir):
    wrong = []
    for sample in corpus:
        try:
            scan(sample.data, sniff_format(sample.data))
            wrong.append((sample.name, "accepted"))
        except UnsafeModel as exc:
            names = " ".join(exc.details.get("globals", []))
            if sample.expect and sample.expect not in names:
                wrong.append((sample.name, names))
            if not sample.expect and exc.details.get("reason") not in ("memory", "decompression_ratio"):
                wrong.append((sample.name, exc.details))
    assert wrong == []
    assert list(canary_dir.iterdir()) == []


def test_unpickler_alone_refuses_every_pickle_without_the_static_pass(corpus, canary_dir):
    """Defence in depth: the allowlist unpickler refuses the same files on its own."""
    allowlist = load_allowlist()
    wrong = []
    for sample in corpus:
        fmt = sniff_format(sample.data)
        if fmt == "skops":
            continue
        try:
            restricted_loads(decompress(sample.data, fmt), allowlist)
            wrong.append(sample.name)
        except UnsafeModel:
            pass
    assert wrong == []
    assert list(canary_dir.iterdir()) == []


@pytest.mark.parametrize("protocol", [0, 2, 3, 4, 5])
def test_benign_pickle_passes_and_lists_its_globals(forest, protocol):
    model, X = forest
    data = pickle.dumps(model, protocol=protocol)
    report = scan(data, sniff_format(data))
    assert "sklearn.ensemble._forest.RandomForestClassifier" in report["globals"]
    loaded = restricted_loads(data, load_allowlist())
    assert np.array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("compress", [0, ("zlib", 3), ("gzip", 3), ("bz2", 3), ("xz", 3), ("lz4", 3)])
def test_joblib_files_read_without_joblib_load(forest, compress):
    model, X = forest
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=compress)
    data = buffer.getvalue()
    fmt = sniff_format(data)
    assert fmt == ("pickle" if compress == 0 else f"joblib-{compress[0]}")
    report = scan(data, fmt)
    assert report["n_arrays"] > 0
    loaded = restricted_loads(decompress(data, fmt), load_allowlist())
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


def test_clear_errors_for_bad_files(forest):
    model, _ = forest
    with pytest.raises(CorruptModel, match="empty"):
        sniff_format(b"")
    with pytest.raises((UnsupportedFormat, CorruptModel)):
        scan(os.urandom(256), sniff_format(b"\x01\x02" + os.urandom(254)))
    with pytest.raises(UnsupportedFormat, match="legacy"):
        sniff_format(b"ZF0x0001")
    data = pickle.dumps(model, protocol=4)
    with pytest.raises(CorruptModel):
        scan(data[: len(data) // 2], "pickle")
    with pytest.raises(NotAModel, match="plain data"):
        scan(pickle.dumps({"weights": [1, 2, 3]}), "pickle")
    with pytest.raises(NotAModel, match="array"):
        scan(pickle.dumps(np.arange(10.0)), "pickle")
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=("zlib", 3))
    with pytest.raises(CorruptModel):
        scan(buffer.getvalue()[:200], "joblib-zlib")
    with pytest.raises(CorruptModel, match="skops"):
        scan(_zip({"a.txt": b"x"}), "skops")


def test_decompression_caps():
    bomb = zlib.compress(b"\x80\x04N." + b"\x00" * (8 << 20), 9)
    with pytest.raises(UnsafeModel) as info:
        decompress(bomb, "joblib-zlib")
    assert info.value.details["reason"] == "decompression_ratio"
    with pytest.raises(PayloadTooLarge):
        decompress(zlib.compress(os.urandom(3 << 20)), "joblib-zlib", max_bytes=1 << 20)


def test_joblib_array_header_checked_before_allocating():
    from joblib.numpy_pickle import NumpyArrayWrapper

    bomb = pickle.dumps(NumpyArrayWrapper(np.ndarray, (10**12,), "C", np.dtype("f8")), protocol=4)
    with pytest.raises(UnsafeModel):
        scan(bomb, "pickle")
    with pytest.raises(UnsafeModel):
        restricted_loads(bomb, load_allowlist(), max_array_bytes=1 << 30)
    # protocol 3 has no frames (a framed header is refused before the size check)
    small = pickle.dumps(NumpyArrayWrapper(np.ndarray, (1000,), "C", np.dtype("f8")), protocol=3)
    with pytest.raises(CorruptModel, match="ends before"):
        scan(small, "pickle")


def test_sniff_native_formats():
    import lightgbm
    import xgboost

    X, y = load_breast_cancer(return_X_y=True)
    booster = xgboost.XGBClassifier(n_estimators=2, max_depth=2).fit(X, y).get_booster()
    assert sniff_format(bytes(booster.save_raw("json"))) == "xgboost-json"
    assert sniff_format(bytes(booster.save_raw("ubj"))) == "xgboost-ubj"
    lgbm = lightgbm.LGBMClassifier(n_estimators=2, verbose=-1).fit(X, y)
    assert sniff_format(lgbm.booster_.model_to_string().encode()) == "lightgbm-text"


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_skops_scan_is_static_and_uses_the_allowlist(forest):
    import skops.io

    model, _ = forest
    data = skops.io.dumps(model)
    assert scan(data, sniff_format(data))["format"] == "skops"
    schema = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))
    schema["__module__"], schema["__class__"] = "subprocess", "Popen"
    with pytest.raises(UnsafeModel) as info:
        scan(_zip({"schema.json": json.dumps(schema).encode()}), "skops")
    assert info.value.details["globals"] == ["subprocess.Popen"]


def test_categorical_hist_gradient_boosting_keeps_its_guarded_partial():
    """sklearn pickles functools.partial(check_array) inside a categorical HGB: allowed in that form only."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"color": pd.Categorical(rng.choice(["red", "blue"], 100)), "x": rng.normal(size=100)})
    model = HistGradientBoostingClassifier(max_iter=5).fit(frame, rng.integers(0, 2, 100))
    data = pickle.dumps(model)
    assert b"functools" in data
    scan(data, "pickle")
    loaded = restricted_loads(data, load_allowlist())
    assert np.array_equal(loaded.predict_proba(frame), model.predict_proba(frame))


def test_legacy_joblib_array_wrapper_is_refused():
    legacy = b"\x80\x04" + b"cjoblib.numpy_pickle\nNDArrayWrapper\n)\x81."
    with pytest.raises(UnsupportedFormat, match="legacy"):
        scan(legacy, "pickle")


@pytest.mark.parametrize("protocol", [4, 5])
def test_the_scan_copies_none_of_a_large_arrays_bytes(protocol):
    """An upload's static scan holds the file once: a 24 MB in-band array is skipped, not read (bounded memory)."""
    import tracemalloc

    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(0)
    X = rng.standard_normal((100_000, 30))
    blob = pickle.dumps(KNeighborsClassifier(algorithm="brute").fit(X, rng.integers(0, 2, len(X))), protocol=protocol)
    tracemalloc.start()
    try:
        report = scan(blob, "pickle")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "sklearn.neighbors._classification.KNeighborsClassifier" in report["globals"]
    assert peak < len(blob) / 20
