"""Parse an ONNX file and refuse what must never reach onnxruntime. Runs inside the sandbox only.

An ONNX tensor may name a file by path (external data) that the runtime would open relative to wherever it
runs: that is refused, never resolved. Operators from domains onnxruntime does not build in (custom ops) are
refused by name, and every tensor's declared size is checked from its dims before anything allocates it.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import onnx  # imported with the module, so the warm worker has it before the sandbox's drop
from google.protobuf.message import DecodeError

from modelwatch.errors import CorruptModel, UnsafeModel

# Operator sets compiled into onnxruntime's CPU build; anything else is a custom op needing a loaded library.
BUILTIN_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml", "com.microsoft"})
MAX_TENSOR_BYTES = 1 << 30  # one declared tensor; the whole process is capped by the sandbox's RLIMIT_AS too
_ITEM_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 8: 1, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2}


def parse_model(data: bytes, max_tensor_bytes: int = MAX_TENSOR_BYTES) -> Any:
    """Parse and validate an ONNX model held in memory.

    Returns:
        The ``onnx.ModelProto``.

    Raises:
        CorruptModel: truncated or malformed protobuf, or a graph the ONNX checker rejects.
        UnsafeModel: external data, custom-op domains, or a tensor declared larger than ``max_tensor_bytes``.
    """
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise CorruptModel(f"The ONNX file is truncated or not a valid protobuf ({exc}).") from exc
    if not model.HasField("graph") or not model.graph.node:
        raise CorruptModel("The ONNX file holds no graph.")
    _refuse(model, max_tensor_bytes)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        raise CorruptModel(f"The ONNX graph is invalid: {str(exc).splitlines()[0][:300]}") from exc
    return model


def _refuse(model: Any, max_tensor_bytes: int) -> None:
    local = {f.domain for f in model.functions}  # model-local functions are made of checked nodes themselves
    for tensor, where in _tensors(model):
        if tensor.data_location == 1 or len(tensor.external_data):  # TensorProto.EXTERNAL
            location = next((e.value for e in tensor.external_data if e.key == "location"), "")
            raise UnsafeModel(
                f"The ONNX tensor {tensor.name or where!r} refers to external data ({location[:100]!r}); "
                "modelwatch never opens files a model names. Save the model with its weights inside.",
                {"globals": [], "reason": "onnx_external_data", "tensor": tensor.name, "location": location[:200]},
            )
        if any(d < 0 for d in tensor.dims):
            raise CorruptModel(f"The ONNX tensor {tensor.name or where!r} declares a negative dimension.")
        size = math.prod(tensor.dims) * _ITEM_BYTES.get(tensor.data_type, 8)
        if size > max_tensor_bytes:
            raise UnsafeModel(
                f"The ONNX tensor {tensor.name or where!r} declares {math.prod(tensor.dims):,} elements "
                f"({size / 2**30:.1f} GB), over the {max_tensor_bytes / 2**30:.1f} GB cap.",
                {"globals": [], "reason": "onnx_tensor_too_large", "tensor": tensor.name, "dims": list(tensor.dims)},
            )
    custom = sorted({n.domain for n in _nodes(model) if n.domain not in BUILTIN_DOMAINS | local}
                    | {o.domain for o in model.opset_import if o.domain not in BUILTIN_DOMAINS | local})
    if custom:
        raise UnsafeModel(f"The ONNX model uses custom operator domain(s) {', '.join(map(repr, custom[:5]))}; "
                          "only onnxruntime's built-in operators are run.",
                          {"globals": [], "reason": "onnx_custom_ops", "domains": custom[:20]})


def _graphs(model: Any) -> Iterator[Any]:
    yield model.graph
    for info in model.training_info:
        yield info.initialization
        yield info.algorithm


def _nodes(model: Any) -> Iterator[Any]:
    stack = [list(g.node) for g in _graphs(model)] + [list(f.node) for f in model.functions]
    while stack:
        for node in stack.pop():
            yield node
            for attr in node.attribute:
                if attr.HasField("g"):
                    stack.append(list(attr.g.node))
                stack.extend(list(g.node) for g in attr.graphs)


def _tensors(model: Any) -> Iterator[tuple[Any, str]]:
    """Every tensor in the model: initializers (dense and sparse), constants in attributes, in subgraphs too."""
    graphs = list(_graphs(model))
    for node in _nodes(model):
        for attr in node.attribute:
            if attr.HasField("g"):
                graphs.append(attr.g)
            graphs.extend(attr.graphs)
            where = f"{node.op_type}.{attr.name}"
            if attr.HasField("t"):
                yield attr.t, where
            yield from ((t, where) for t in attr.tensors)
            if attr.HasField("sparse_tensor"):
                yield attr.sparse_tensor.values, where
                yield attr.sparse_tensor.indices, where
            for sparse in attr.sparse_tensors:
                yield sparse.values, where
                yield sparse.indices, where
    for graph in graphs:
        yield from ((t, "initializer") for t in graph.initializer)
        for sparse in graph.sparse_initializer:
            yield sparse.values, "sparse initializer"
            yield sparse.indices, "sparse initializer"
