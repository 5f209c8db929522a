"""An ONNX graph run by onnxruntime, with the scikit-learn face every section of the suite calls.

Inside the sandbox only: the graph is parsed and refused or accepted by ``onnx_check``, its signature is read
into what the rest of modelwatch needs (features, element types, task, classes), and one onnxruntime session is
created with a bounded thread count and kept for every call. Two tabular signatures are accepted: one 2-D tensor
of N features, or one ``[batch, 1]`` tensor per column (what skl2onnx makes for mixed types).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from modelwatch.core.intake.onnx_check import parse_model
from modelwatch.errors import CorruptModel, UnsupportedModel

MAX_FEATURES = 100_000
_PROBABILITY_OPS = {"Softmax", "Sigmoid", "TreeEnsembleClassifier", "LinearClassifier", "SVMClassifier",
                    "TreeEnsemble", "Normalizer"}
_TYPE_NAMES = {1: "float32", 6: "int32", 7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64"}


def _dims(value_info: Any) -> list[int | str]:
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in shape.dim]


def _describe_io(value_info: Any) -> str:
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type":
        return f"{value_info.name!r} ({kind or 'untyped'})"
    dims = ", ".join(str(d) for d in _dims(value_info))
    elem = _TYPE_NAMES.get(value_info.type.tensor_type.elem_type, str(value_info.type.tensor_type.elem_type))
    return f"{value_info.name!r} {elem}[{dims}]"


def _inputs(graph: Any) -> list[Any]:
    constants = {t.name for t in graph.initializer}
    return [i for i in graph.input if i.name not in constants]


def read_inputs(graph: Any) -> dict[str, Any]:
    """The tabular signature of the graph's inputs.

    Returns:
        ``{"layout": "matrix"|"columns", "names": [...], "types": {name: dtype name}, "n_features"}``.

    Raises:
        UnsupportedModel: an input that is not a table (an image, a sequence, a map), named with its shape.
    """
    inputs = _inputs(graph)
    found = "; ".join(_describe_io(i) for i in inputs[:5])
    if not inputs or any(i.type.WhichOneof("value") != "tensor_type" for i in inputs):
        raise UnsupportedModel(f"The ONNX model's inputs are not tensors: {found or 'none'}.", {"inputs": found})
    ranks = [len(_dims(i)) for i in inputs]
    if len(inputs) == 1 and ranks[0] == 2:
        width = _dims(inputs[0])[1]
        if not isinstance(width, int) or not 0 < width <= MAX_FEATURES:
            raise UnsupportedModel(f"The ONNX model's input {found} has no fixed number of features "
                                   f"(1 to {MAX_FEATURES:,}).", {"inputs": found})
        elem = inputs[0].type.tensor_type.elem_type
        if elem not in (1, 10, 11):
            raise UnsupportedModel(f"The ONNX model's single input {found} is not a float tensor.", {"inputs": found})
        return {"layout": "matrix", "names": [inputs[0].name], "types": {inputs[0].name: _TYPE_NAMES[elem]},
                "n_features": width}
    if all(r == 2 and _dims(i)[1] == 1 for r, i in zip(ranks, inputs)) and len(inputs) <= MAX_FEATURES:
        unknown = [i.name for i in inputs if i.type.tensor_type.elem_type not in _TYPE_NAMES]
        if unknown:
            raise UnsupportedModel(f"The ONNX model's inputs {found} have element types modelwatch cannot feed.",
                                   {"inputs": found})
        return {"layout": "columns", "names": [i.name for i in inputs],
                "types": {i.name: _TYPE_NAMES[i.type.tensor_type.elem_type] for i in inputs},
                "n_features": len(inputs)}
    what = "an image or other grid" if max(ranks) >= 4 else "a sequence" if max(ranks) == 3 else "not a table"
    raise UnsupportedModel(f"The ONNX model's input is {what}: {found}. modelwatch tests tabular models "
                           "(one [batch, features] tensor, or one [batch, 1] tensor per column).", {"inputs": found})


def _strip_zipmap(graph: Any) -> list[Any] | None:
    """Replace a ZipMap output (a list of dicts per row) by the probability tensor it wraps; return its labels.

    The graph has been through shape inference, so ``value_info`` gives that tensor's element type."""
    outputs = {o.name for o in graph.output}
    for index, node in enumerate(graph.node):
        if node.op_type == "ZipMap" and node.output[0] in outputs:
            attrs = {a.name: a for a in node.attribute}
            labels = list(attrs["classlabels_int64s"].ints) if "classlabels_int64s" in attrs else \
                [s.decode() for s in attrs["classlabels_strings"].strings]
            inferred = {v.name: v.type.tensor_type.elem_type for v in graph.value_info}
            position = [o.name for o in graph.output].index(node.output[0])
            del graph.output[position]
            graph.output.insert(position, onnx.helper.make_tensor_value_info(node.input[0],
                                                                              inferred.get(node.input[0], 1), None))
            del graph.node[index]
            return labels
    return None


def _class_labels(graph: Any) -> list[Any] | None:
    for node in graph.node:
        for attr in node.attribute:
            if attr.name == "classlabels_int64s" and attr.ints:
                return list(attr.ints)
            if attr.name == "classlabels_strings" and attr.strings:
                return [s.decode() for s in attr.strings]
    return None


def read_outputs(graph: Any) -> dict[str, Any]:
    """Name the label, probability and value outputs, the class labels and the task (after ``_strip_zipmap``)."""
    labels = _strip_zipmap(graph)
    producers = {out: node.op_type for node in graph.node for out in node.output}
    tensors = [(o.name, o.type.tensor_type.elem_type, _dims(o)) for o in graph.output
               if o.type.WhichOneof("value") == "tensor_type"]
    label = next((name for name, elem, _ in tensors if elem in (6, 7, 8, 9)), None)
    probabilities = value = None
    for name, elem, dims in tensors:
        if elem not in (1, 10, 11) or probabilities or value:
            continue
        width = dims[1] if len(dims) == 2 else 1
        if labels is not None or label is not None or producers.get(name) in _PROBABILITY_OPS or width != 1:
            probabilities = name
        else:
            value = name
    if label is None and probabilities is None and value is None:
        found = "; ".join(_describe_io(o) for o in graph.output[:5])
        raise UnsupportedModel(f"The ONNX model has no label, probability or value output: {found}.",
                               {"outputs": found})
    is_classifier = label is not None or probabilities is not None
    scores = probabilities is not None and producers.get(probabilities) not in _PROBABILITY_OPS and labels is None
    return {"label": label, "probabilities": probabilities, "value": value,
            "classes": labels if labels is not None else _class_labels(graph) if is_classifier else None,
            "task": "classification" if is_classifier else "regression", "softmax": bool(scores)}


class _OnnxModel(BaseEstimator):
    """An onnxruntime session fed from a float array or, column by column, from a frame."""

    def __init__(self, session: Any = None, signature: dict[str, Any] | None = None) -> None:
        self.session = session
        self.signature = signature or {}
        inputs = self.signature.get("inputs", {})
        self.n_features_in_ = inputs.get("n_features", 0)
        if inputs.get("layout") == "columns":
            self.feature_names_in_ = np.asarray(inputs["names"], dtype=object)
        # looked up once: a batch of one row costs microseconds in onnxruntime, so the call path stays short
        self._matrix = (inputs["names"][0], np.dtype(inputs["types"][inputs["names"][0]])) \
            if inputs.get("layout") == "matrix" else None
        self._fetch = {key: [name] for key, name in self.signature.get("outputs", {}).items()
                       if key in ("label", "probabilities", "value") and name}

    def _feeds(self, X: Any) -> dict[str, np.ndarray]:
        if self._matrix is not None:
            name, dtype = self._matrix
            return {name: np.asarray(X, dtype=dtype, order="C")}
        inputs = self.signature["inputs"]
        feeds = {}
        for name in inputs["names"]:
            column = np.asarray(X[name]).reshape(-1, 1)
            kind = inputs["types"][name]
            feeds[name] = column.astype(str).astype(object) if kind == "string" else column.astype(kind)
        return feeds

    def _run(self, output: str, X: Any) -> np.ndarray:
        return np.asarray(self.session.run(self._fetch[output], self._feeds(X))[0])

    def describe_onnx(self) -> dict[str, Any]:
        """The graph's signature for the Run's model block, and the categories its OneHotEncoders know."""
        return {"onnx": {k: v for k, v in self.signature.items() if k != "encoders"},
                "encoders": self.signature.get("encoders", [])}


class OnnxRegressor(RegressorMixin, _OnnxModel):
    """An ONNX graph whose output is a value per row."""

    def predict(self, X: Any) -> np.ndarray:
        return self._run("value", X).reshape(len(X), -1).squeeze(axis=1)


class OnnxClassifier(ClassifierMixin, _OnnxModel):
    """An ONNX graph with a label and/or class probabilities."""

    def __init__(self, session: Any = None, signature: dict[str, Any] | None = None) -> None:
        super().__init__(session, signature)
        self.classes_ = np.asarray(self.signature.get("outputs", {}).get("classes") or [0, 1])

    def predict_proba(self, X: Any) -> np.ndarray:
        outputs = self.signature["outputs"]
        scores = self._run("probabilities", X).astype(float).reshape(len(X), -1)
        if scores.shape[1] == 1:
            scores = np.c_[1 - scores, scores]
        if outputs["softmax"]:
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict(self, X: Any) -> np.ndarray:
        if "label" in self._fetch:
            return self._run("label", X).reshape(-1)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _encoders(graph: Any, columns: list[str]) -> list[dict[str, Any]]:
    """Categories of ai.onnx.ml OneHotEncoders fed straight from a column input (as skl2onnx exports them)."""
    found = []
    for node in graph.node:
        if node.op_type == "OneHotEncoder" and node.input[0] in columns:
            attrs = {a.name: a for a in node.attribute}
            cats = [s.decode() for s in attrs["cats_strings"].strings] if "cats_strings" in attrs else \
                list(attrs["cats_int64s"].ints) if "cats_int64s" in attrs else []
            found.append({"transformer": "onnx.ai.onnx.ml.OneHotEncoder", "columns": [node.input[0]],
                          "categories": {node.input[0]: cats}})
    return found


def load_onnx(data: bytes, threads: int = 1) -> _OnnxModel:
    """Validate an ONNX file, read its signature and open one onnxruntime session for every later call.

    Raises:
        CorruptModel / UnsafeModel: see ``onnx_check.parse_model``; onnxruntime refused the graph.
        UnsupportedModel: the graph is not a tabular model.
    """
    model = parse_model(data)
    try:
        model = onnx.shape_inference.infer_shapes(model)  # the element type of the tensor a ZipMap wraps
    except (onnx.shape_inference.InferenceError, ValueError) as exc:
        raise CorruptModel(f"The ONNX graph's types do not check: {str(exc)[:300]}") from exc
    inputs = read_inputs(model.graph)
    outputs = read_outputs(model.graph)
    signature = {"inputs": inputs, "outputs": outputs, "producer": model.producer_name[:100],
                 "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
                 "encoders": _encoders(model.graph, inputs["names"]) if inputs["layout"] == "columns" else []}
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = threads
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's Fail / InvalidGraph / NotImplemented carry the reason
        raise CorruptModel(f"onnxruntime refused the graph ({type(exc).__name__}: {str(exc)[:300]}).") from exc
    if outputs["task"] == "classification" and outputs["classes"] is None:
        outputs["classes"] = _probe_classes(session, inputs, outputs)
    cls = OnnxClassifier if outputs["task"] == "classification" else OnnxRegressor
    return cls(session, signature)


def _probe_classes(session: Any, inputs: dict[str, Any], outputs: dict[str, Any]) -> list[int]:
    """Classes 0..k-1 from the width of the probability output, on one row of zeros (a matrix input)."""
    name = outputs["probabilities"] or outputs["label"]
    if inputs["layout"] != "matrix" or name != outputs["probabilities"]:
        raise UnsupportedModel("The ONNX classifier names no class labels and has no probability output to count.")
    row = np.zeros((1, inputs["n_features"]), dtype=inputs["types"][inputs["names"][0]])
    width = np.asarray(session.run([name], {inputs["names"][0]: row})[0]).reshape(1, -1).shape[1]
    return list(range(max(width, 2)))
