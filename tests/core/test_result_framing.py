"""The result's framing between the sandbox child and the parent (``sandbox.channels``): arrays cross as plain
dtypes, shapes and bytes, are read back equal, and any description that does not fit its bytes is refused."""
from __future__ import annotations

import json

import numpy as np
import pytest

from modelwatch.core.sandbox.channels import decode_result, encode_result
from modelwatch.errors import ModelError

ARRAYS = {
    "floats 2-D": np.arange(6.0).reshape(2, 3),
    "Fortran order": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "a strided view": np.arange(12).reshape(3, 4)[:, ::2],
    "float32 scalar": np.float32(3.5),
    "empty": np.array([], dtype=float),
    "booleans": np.array([True, False, True]),
    "text labels": np.array(["benign", "malignant"]),
    "bytes": np.array([b"x", b"yz"]),
    "big-endian ints": np.arange(3, dtype=">i4"),
    "complex": np.array([1 + 2j, -1j]),
    "NaN and infinities": np.array([np.nan, np.inf, -np.inf, -0.0]),
}


@pytest.mark.parametrize("name", ARRAYS)
def test_arrays_come_back_equal_with_their_dtype_and_shape(name):
    sent = np.asarray(ARRAYS[name])
    back = decode_result(encode_result({"info": {"n": 1}}, {"output": ARRAYS[name]}))
    assert back["info"] == {"n": 1}
    got = back["arrays"]["output"]
    assert got.dtype == sent.dtype and got.shape == sent.shape
    assert np.array_equal(got, sent, equal_nan=sent.dtype.kind in "fc")
    got[...] = got  # writable, like the arrays numpy.load used to give


def test_object_arrays_are_not_sent():
    with pytest.raises(ValueError, match="only booleans, numbers and text"):
        encode_result({}, {"output": np.array([object()])})


def _framed(spec: object, payload: bytes) -> bytes:
    return json.dumps({"info": {}, "arrays": {"output": spec}}).encode() + b"\n" + payload


@pytest.mark.parametrize("spec", [
    {"dtype": "|O8", "shape": [1], "bytes": 8},  # objects: a pickle
    {"dtype": "<M8[ns]", "shape": [1], "bytes": 8},  # not a plain dtype
    {"dtype": "__import__('os').system('true')", "shape": [1], "bytes": 8},  # never evaluated
    {"dtype": "<f3", "shape": [1], "bytes": 3},  # no such type
    {"dtype": "|S0", "shape": [8], "bytes": 0},  # items of no size
    {"dtype": "<f8", "shape": [2], "bytes": 8},  # the shape needs 16 bytes
    {"dtype": "<U2", "shape": [1], "bytes": 2},  # text is 4 bytes a character
    {"dtype": "<f8", "shape": [-1], "bytes": 8},
    {"dtype": "<f8", "shape": [1.0], "bytes": 8},
    {"dtype": "<f8", "shape": [2**40, 0], "bytes": 0},
    {"dtype": "<f8", "shape": [1] * 33, "bytes": 8},
    {"dtype": "<f8", "shape": [1], "bytes": "8"},
    {"dtype": "<f8", "shape": 1, "bytes": 8},
])
def test_a_description_that_does_not_fit_is_refused(spec):
    with pytest.raises(ModelError, match="unreadable array"):
        decode_result(_framed(spec, b"\0" * 8))


def test_bytes_that_do_not_match_the_descriptions_are_refused():
    with pytest.raises(ModelError, match="do not match"):
        decode_result(_framed({"dtype": "<f8", "shape": [1], "bytes": 8}, b"\0" * 9))
    with pytest.raises(ModelError, match="do not match"):
        decode_result(_framed(8, b"\0" * 8))

