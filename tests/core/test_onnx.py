"""ONNX models through the real sandbox: exports predict like their originals, hostile graphs are refused.

Every ONNX file is built at test time (skl2onnx for a forest and a pipeline, onnx.helper for a small MLP and
for the hostile graphs); none is committed.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from sklearn.datasets import load_iris
from sklearn.neural_network import MLPClassifier

from modelwatch.core.intake.formats import sniff_format
from modelwatch.core.sandbox.runner import Limits, run_task
from modelwatch.errors import CorruptModel, UnsafeModel, UnsupportedModel
from tests.support import dumps, npy

pytestmark = pytest.mark.usefixtures("sandbox")

LIMITS = Limits(timeout_s=120)


def _predict(data: bytes, X, method: str) -> np.ndarray:
    if isinstance(X, pd.DataFrame):
        payload, files = {"method": method, "csv": "X.csv"}, {"X.csv": X.to_csv(index=False).encode()}
    else:
        payload, files = {"method": method}, {"X.npy": npy(X)}
    return run_task("predict", data, sniff_format(data), payload, files, LIMITS)["arrays"]["output"]


@pytest.fixture(scope="module")
def forest_onnx(forest, cancer) -> bytes:
    return to_onnx(forest, cancer[0].to_numpy()[:1].astype(np.float32)).SerializeToString()


def _graph(inputs, nodes, outputs, initializers=(), opsets=(("", 17),)) -> bytes:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    return model.SerializeToString()


def _mlp_onnx(mlp: MLPClassifier) -> bytes:
    """The fitted sklearn MLP written by hand as Gemm, Relu, Gemm, Softmax (no label output, no class labels)."""
    (w1, w2), (b1, b2) = mlp.coefs_, mlp.intercepts_
    weights = [helper.make_tensor(n, TensorProto.FLOAT, a.shape, a.astype(np.float32).ravel())
               for n, a in (("W1", w1), ("B1", b1), ("W2", w2), ("B2", b2))]
    nodes = [helper.make_node("Gemm", ["X", "W1", "B1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "W2", "B2"], ["z"]), helper.make_node("Softmax", ["z"], ["p"])]
    return _graph([helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", w1.shape[0]])], nodes,
                  [helper.make_tensor_value_info("p", TensorProto.FLOAT, ["N", w2.shape[1]])], weights)


def test_onnx_is_sniffed_by_content(forest_onnx, forest):
    assert sniff_format(forest_onnx) == "onnx"
    assert sniff_format(dumps(forest)) == "pickle"


def test_a_forest_exported_with_skl2onnx_predicts_like_the_original(forest_onnx, forest, cancer):
    X = cancer[0].to_numpy()
    info = run_task("inspect", forest_onnx, "onnx", limits=LIMITS)
    assert info["task"] == "classification" and info["classes"] == [0, 1] and info["n_features"] == 30
    assert info["onnx"]["inputs"]["layout"] == "matrix" and info["sandbox"]["seccomp"]
    np.testing.assert_allclose(_predict(forest_onnx, X, "predict_proba"), forest.predict_proba(X), atol=1e-5)
    assert (_predict(forest_onnx, X, "predict") == forest.predict(X)).all()


def test_a_pipeline_with_string_columns_is_fed_column_by_column(churn_pipeline, churn_frame):
    X = churn_frame.drop(columns="churn")
    data = to_onnx(churn_pipeline, X[:1]).SerializeToString()
    info = run_task("inspect", data, "onnx", limits=LIMITS)
    assert info["feature_names"] == list(X.columns) and info["feature_names_from_model"]
    assert info["onnx"]["inputs"]["types"]["plan"] == "string"
    assert {c for e in info["encoders"] for c in e["categories"]} == {"plan", "region"}
    np.testing.assert_allclose(_predict(data, X, "predict_proba"), churn_pipeline.predict_proba(X), atol=1e-5)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_hand_written_mlp_gets_its_classes_from_the_output_width():
    X, y = load_iris(return_X_y=True)
    mlp = MLPClassifier((8,), max_iter=300, random_state=0).fit(X, y)
    data = _mlp_onnx(mlp)
    info = run_task("inspect", data, "onnx", limits=LIMITS)
    assert info["classes"] == [0, 1, 2] and not info["onnx"]["outputs"]["softmax"]
    np.testing.assert_allclose(_predict(data, X, "predict_proba"), mlp.predict_proba(X), atol=1e-5)


def _external_data() -> bytes:
    weight = helper.make_tensor("W", TensorProto.FLOAT, [4, 1], np.zeros(4, np.float32))
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../../etc/passwd"), ("offset", "0"), ("length", "16")):
        weight.external_data.add(key=key, value=value)
    return _graph([helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
                  [helper.make_node("MatMul", ["X", "W"], ["y"])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])], [weight])


def _custom_op() -> bytes:
    return _graph([helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
                  [helper.make_node("Backdoor", ["X"], ["y"], domain="com.evil")],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1])],
                  opsets=(("", 17), ("com.evil", 1)))


def _huge_initializer() -> bytes:
    weight = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[1_000_000, 1_000_000])  # 10^12, no data
    return _graph([helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 1_000_000])],
                  [helper.make_node("MatMul", ["X", "W"], ["y"])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1_000_000])], [weight])


def _image_input() -> bytes:
    return _graph([helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 3, 32, 32])],
                  [helper.make_node("ReduceMean", ["pixels"], ["y"], keepdims=0)],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"])])


@pytest.mark.parametrize(("build", "error", "words"), [
    (_external_data, UnsafeModel, ["external data", "../../etc/passwd"]),
    (_custom_op, UnsafeModel, ["custom operator", "com.evil"]),
    (_huge_initializer, UnsafeModel, ["1,000,000,000,000 elements"]),
    (_image_input, UnsupportedModel, ["image", "'pixels' float32[N, 3, 32, 32]"]),
])
def test_hostile_or_untestable_graphs_are_refused_with_the_reason(build, error, words):
    data = build()
    assert sniff_format(data) == "onnx"
    with pytest.raises(error) as caught:
        run_task("inspect", data, "onnx", limits=LIMITS)
    assert all(w in str(caught.value) for w in words), str(caught.value)


def test_a_truncated_protobuf_is_corrupt(forest_onnx):
    truncated = forest_onnx[: len(forest_onnx) // 2]
    assert sniff_format(truncated) == "onnx"
    with pytest.raises(CorruptModel, match="truncated or not a valid protobuf"):
        run_task("inspect", truncated, "onnx", limits=LIMITS)


def test_the_onnx_checker_runs_on_what_is_not_refused():
    """A graph whose node reads a tensor nobody produces is invalid, not crashed."""
    data = _graph([helper.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])],
                  [helper.make_node("Add", ["X", "missing"], ["y"])],
                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    with pytest.raises(CorruptModel):
        run_task("inspect", data, "onnx", limits=LIMITS)
