"""The allowlist unpickler: exact (module, name) pairs checked before any import, restricted REDUCE, joblib arrays.

Runs only inside the sandbox. It subclasses the pure-Python ``pickle._Unpickler`` so that every opcode
goes through methods we can override; persistent ids, the extension registry and INST/OBJ are refused.
"""
from __future__ import annotations

import _compat_pickle
import collections
import copyreg
import functools
import importlib
import io
import math
import pickle
import struct
from typing import Any

import numpy as np

from modelwatch.core.intake.allowlist import ATTRIBUTE_NAME, GUARDED, MODULE_NAME
from modelwatch.core.intake.dtypes import check_state, dtype_from_descriptor, field_dtypes
from modelwatch.errors import CorruptModel, UnsafeModel

WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
MAX_SCALAR_BYTES = 1 << 20


class ArrayHeader:
    """Stands in for joblib's NumpyArrayWrapper: carries the header; the bytes are read by the unpickler."""


def _unsafe(what: str, message: str) -> UnsafeModel:
    return UnsafeModel(message, {"globals": [what]})


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    return copyreg._reconstructor(cls, base, state)


def _reconstruct(subtype: Any, shape: Any, dtype: Any) -> Any:
    from numpy._core.multiarray import _reconstruct as numpy_reconstruct

    # numpy always pickles the placeholder with shape (0,); anything bigger is an allocation bomb.
    if not isinstance(shape, tuple) or math.prod(int(n) for n in shape) != 0 or not issubclass(subtype, np.ndarray):
        raise _unsafe("numpy._core.multiarray._reconstruct", "numpy._reconstruct was asked to allocate an array.")
    return numpy_reconstruct(subtype, shape, dtype)


def _scalar(dtype: Any, *args: Any) -> Any:
    from numpy._core.multiarray import scalar

    if not isinstance(dtype, np.dtype) or dtype.itemsize > MAX_SCALAR_BYTES:
        raise _unsafe("numpy._core.multiarray.scalar", "numpy.scalar was asked for a huge item.")
    # numpy copies itemsize bytes from the buffer whatever its length: a short buffer leaks the heap after it.
    if not dtype.hasobject and not (len(args) == 1 and isinstance(args[0], bytes) and len(args[0]) == dtype.itemsize):
        raise _unsafe("numpy._core.multiarray.scalar", "numpy.scalar with a buffer of the wrong size.")
    return scalar(dtype, *args)


def _mareconstruct(subtype: Any, baseclass: Any, baseshape: Any, basetype: Any) -> Any:
    from numpy.ma.core import _mareconstruct as numpy_mareconstruct

    # MaskedArray pickles its placeholder with shape (0,), like ndarray.
    if not isinstance(baseshape, tuple) or math.prod(int(n) for n in baseshape) != 0:
        raise _unsafe("numpy.ma.core._mareconstruct", "numpy.ma._mareconstruct was asked to allocate an array.")
    return numpy_mareconstruct(subtype, baseclass, baseshape, basetype)


def _bytes(*args: Any) -> bytes:
    if args and not isinstance(args[0], (bytes, bytearray, list, str)):
        raise _unsafe("builtins.bytes", "bytes() may only copy bytes, never allocate a size.")
    return bytes(*args)


def _codecs_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    if encoding not in ("latin1", "latin-1") or not isinstance(obj, str):
        raise _unsafe("_codecs.encode", f"_codecs.encode with encoding {encoding!r} is not allowed.")
    return obj.encode(encoding, errors)


def _bytearray(*args: Any) -> bytearray:
    if len(args) > 1 or (args and not isinstance(args[0], (bytes, bytearray, list))):
        raise _unsafe("builtins.bytearray", "bytearray() may only copy bytes, never allocate a size.")
    return bytearray(*args)


def _defaultdict(factory: Any = None, *args: Any) -> collections.defaultdict:
    if factory not in (None, dict, list, collections.OrderedDict) or args:
        raise _unsafe("collections.defaultdict", "defaultdict with a factory other than dict/list/OrderedDict.")
    return collections.defaultdict(factory)


def _bit_generator(value: Any, what: str) -> Any:
    from numpy.random._pickle import BitGenerators
    from numpy.random.bit_generator import BitGenerator

    if isinstance(value, BitGenerator) or (isinstance(value, str) and value in BitGenerators):
        return value
    if isinstance(value, type) and value in BitGenerators.values():
        return value
    raise _unsafe(what, f"{what} may only take one of numpy's bit generators.")


def _own_ctor(rest: tuple[Any, ...], what: str) -> None:
    # The second argument is a constructor numpy calls; a file may only name numpy's own (checked) one.
    if rest not in ((), (_bit_generator_ctor,)):
        raise _unsafe(what, f"{what} with a constructor other than numpy's own.")


def _generator_ctor(bit_generator_name: Any = "MT19937", *rest: Any) -> Any:
    from numpy.random._pickle import __generator_ctor

    _own_ctor(rest, "numpy.random._pickle.__generator_ctor")
    return __generator_ctor(_bit_generator(bit_generator_name, "numpy.random._pickle.__generator_ctor"))


def _randomstate_ctor(bit_generator_name: Any = "MT19937", *rest: Any) -> Any:
    from numpy.random._pickle import __randomstate_ctor

    _own_ctor(rest, "numpy.random._pickle.__randomstate_ctor")
    return __randomstate_ctor(_bit_generator(bit_generator_name, "numpy.random._pickle.__randomstate_ctor"))


def _bit_generator_ctor(bit_generator: Any = "MT19937") -> Any:
    from numpy.random._pickle import __bit_generator_ctor

    return __bit_generator_ctor(_bit_generator(bit_generator, "numpy.random._pickle.__bit_generator_ctor"))


def _new_obj(module: str, base: str) -> Any:
    """sklearn's Cython ``newObj(cls)`` (``cls.__new__(cls)``), only for the classes its own module pickles."""
    def new_obj(cls: Any) -> Any:
        real = importlib.import_module(module)
        if not (isinstance(cls, type) and cls.__module__ == module and issubclass(cls, getattr(real, base))) or \
                "PyFunc" in cls.__name__:  # PyFuncDistance calls a function from its state
            raise _unsafe(f"{module}.newObj", f"{module}.newObj may only build that module's own {base} classes.")
        return real.newObj(cls)
    return new_obj


def _frombuffer(buf: Any, dtype: Any, shape: Any, order: Any) -> Any:
    from numpy._core.numeric import _frombuffer as numpy_frombuffer

    if not isinstance(buf, (bytes, bytearray)) or not isinstance(dtype, np.dtype) or dtype.hasobject or \
            not isinstance(shape, tuple) or order not in ("C", "F", "A", "K"):
        raise _unsafe("numpy._core.numeric._frombuffer", "numpy._frombuffer with unexpected arguments.")
    return numpy_frombuffer(buf, dtype, shape, order)


class _CheckedPartial(functools.partial):
    """functools.partial restricted to the one form scikit-learn pickles: around check_array."""

    def __new__(cls, func: Any, /, *args: Any, **kwargs: Any) -> Any:
        cls._check(func)
        return super().__new__(cls, func, *args, **kwargs)

    def __setstate__(self, state: Any) -> None:
        self._check(state[0] if isinstance(state, tuple) and state else None)
        super().__setstate__(state)

    @staticmethod
    def _check(func: Any) -> None:
        from sklearn.utils.validation import check_array

        if func is not check_array:
            raise _unsafe("functools.partial", "functools.partial may only wrap sklearn's check_array.")


# Allowlisted callables that are replaced by a version that checks its arguments.
CHECKED_CALLS: dict[tuple[str, str], Any] = {
    ("copyreg", "_reconstructor"): _reconstructor,
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("_codecs", "encode"): _codecs_encode,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy.ma.core", "_mareconstruct"): _mareconstruct,
    ("__builtin__", "bytes"): _bytes,
    ("builtins", "bytes"): _bytes,
    ("builtins", "bytearray"): _bytearray,
    ("__builtin__", "bytearray"): _bytearray,
    ("collections", "defaultdict"): _defaultdict,
    ("functools", "partial"): _CheckedPartial,
    ("numpy", "dtype"): dtype_from_descriptor,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy.random._pickle", "__generator_ctor"): _generator_ctor,
    ("numpy.random._pickle", "__randomstate_ctor"): _randomstate_ctor,
    ("numpy.random._pickle", "__bit_generator_ctor"): _bit_generator_ctor,
    ("sklearn.metrics._dist_metrics", "newObj"): _new_obj("sklearn.metrics._dist_metrics", "DistanceMetric"),
    ("sklearn.neighbors._ball_tree", "newObj"): _new_obj("sklearn.neighbors._ball_tree", "BinaryTree64"),
    ("sklearn.neighbors._kd_tree", "newObj"): _new_obj("sklearn.neighbors._kd_tree", "BinaryTree64"),
}


class RestrictedUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """An unpickler that imports only allowlisted globals and calls only allowlisted callables.

    Args:
        file: a binary file (an in-memory ``BytesIO`` keeps every length-prefixed read bounded by the data).
        allowlist: ``{(module, name): usages}`` from ``allowlist.load_allowlist``.
        trusted: operator's trusted mode: every global is importable; still used inside the sandbox only.
        max_array_bytes: refuse a joblib array larger than this before allocating it.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: io.BytesIO, allowlist: dict[tuple[str, str], frozenset[str]], *, trusted: bool = False,
                 max_array_bytes: int = 1 << 31, nested: bool = False) -> None:
        super().__init__(file)
        self.nested = nested  # an object array's own pickle: joblib never writes array wrappers there
        self.file = file
        self.allowlist = allowlist
        self.trusted = trusted
        self.max_array_bytes = max_array_bytes
        self.array_bytes = 0
        # id -> object for what find_class returned with permission to be called / instantiated.
        self._callable: dict[int, Any] = {}
        self._newable: dict[int, Any] = {}
        self._found: dict[int, Any] = {}
        # dtypes made here whose state may still be set once, and dtypes something has used (frozen from then on).
        self._fresh_dtypes: dict[int, np.dtype] = {}
        self._used_dtypes: dict[int, np.dtype] = {}

    def find_class(self, module: str, name: str) -> Any:
        if not (isinstance(module, str) and isinstance(name, str) and MODULE_NAME.fullmatch(module)
                and ATTRIBUTE_NAME.fullmatch(name)):
            shown = f"{str(module)[:80]}.{str(name)[:80]}"
            raise UnsafeModel(f"The model names {shown!r}, which is not a plain identifier.", {"globals": [shown]})
        if module == WRAPPER[0] and name == WRAPPER[1]:
            if self.nested:
                raise _unsafe(f"{module}.{name}", "A joblib array header sits inside an object array.")
            self._newable[id(ArrayHeader)] = ArrayHeader
            return ArrayHeader
        if self.trusted:
            return super().find_class(module, name)
        usages = self.allowlist.get((module, name))
        if (module, name) in GUARDED:
            usages = frozenset({"call", "value"})
        if usages is None or "." in name:
            # Compared before importing anything: the default find_class imports first.
            raise UnsafeModel(f"The model would import {module}.{name}, which is not on the allowlist.",
                              {"globals": [f"{module}.{name}"]})
        obj = CHECKED_CALLS.get((module, name))
        if obj is None:
            real_module, real_name = module, name
            if self.proto < 3 and (module, name) in _compat_pickle.NAME_MAPPING:
                real_module, real_name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif self.proto < 3:
                real_module = _compat_pickle.IMPORT_MAPPING.get(module, module)
            obj = getattr(importlib.import_module(real_module), real_name)
        self._found[id(obj)] = obj
        if "call" in usages:
            self._callable[id(obj)] = obj
        if "new" in usages:
            self._newable[id(obj)] = obj
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise _unsafe("<persistent_id>", "The model uses persistent ids, which modelwatch never resolves.")

    def load_reduce(self) -> None:
        args = self.stack.pop()
        func = self.stack[-1]
        if not self.trusted and id(func) not in self._callable:
            raise _unsafe(_name_of(func), f"The model would call {_name_of(func)}, which it may not call.")
        if func is _reconstructor and not self.trusted:
            # copyreg._reconstructor(cls, base, state) instantiates cls: it must be instantiable, base a plain builtin.
            ok = isinstance(args, tuple) and len(args) == 3 and args[1] in (object, dict, list)
            if not ok or not isinstance(args[0], type) or not issubclass(args[0], args[1]):
                raise _unsafe("copyreg._reconstructor", "copyreg._reconstructor with an unexpected base class.")
            self._check_new(args[0])
        if not self.trusted:
            self._mark_used(args)
        if not isinstance(args, tuple):
            raise CorruptModel("A call in the pickle has no argument tuple.")
        self.stack[-1] = result = func(*args)
        if func is dtype_from_descriptor:
            self._fresh_dtypes[id(result)] = result

    def _mark_used(self, values: Any) -> None:
        """Remember every dtype handed to a constructor or a state: from then on its state may not change."""
        items = values.values() if isinstance(values, dict) else values if isinstance(values, (tuple, list)) else ()
        for value in items:
            if isinstance(value, np.dtype):
                self._used_dtypes[id(value)] = value
            elif isinstance(value, (tuple, dict)) and value is not values:
                for inner in (value.values() if isinstance(value, dict) else value):
                    if isinstance(inner, np.dtype):
                        self._used_dtypes[id(inner)] = inner

    def load_newobj(self) -> None:
        args = self.stack.pop()
        cls = self.stack.pop()
        self._check_new(cls)
        self.append(cls.__new__(cls, *args))

    def load_newobj_ex(self) -> None:
        kwargs = self.stack.pop()
        args = self.stack.pop()
        cls = self.stack.pop()
        self._check_new(cls)
        self.append(cls.__new__(cls, *args, **kwargs))

    def _check_new(self, cls: Any) -> None:
        if not self.trusted and id(cls) not in self._newable:
            raise _unsafe(_name_of(cls), f"The model would instantiate {_name_of(cls)}, which it may not.")

    def load_refused(self) -> None:
        raise _unsafe("<INST/OBJ/EXT>", "The model uses an opcode modelwatch never allows (INST, OBJ or EXT).")

    def load_frame(self) -> None:
        size = int.from_bytes(self.read(8), "little")
        if size > self._remaining():
            raise CorruptModel("A pickle frame is longer than the file.")
        self._unframer.load_frame(size)

    def _remaining(self) -> int:
        return len(self.file.getbuffer()) - self.file.tell()

    def _capped(self, nbytes: int) -> int:
        if nbytes > self._remaining() + (1 << 16):
            raise CorruptModel("A length in the pickle is longer than the file.")
        return nbytes

    def load_binbytes8(self) -> None:
        self.append(self.read(self._capped(int.from_bytes(self.read(8), "little"))))

    def load_binunicode8(self) -> None:
        self.append(str(self.read(self._capped(int.from_bytes(self.read(8), "little"))), "utf-8", "surrogatepass"))

    def load_bytearray8(self) -> None:
        self.append(bytearray(self.read(self._capped(int.from_bytes(self.read(8), "little")))))

    def load_long4(self) -> None:
        n = int.from_bytes(self.read(4), "little", signed=True)
        if n < 0 or n > 1 << 16:
            raise CorruptModel("A long integer in the pickle is malformed or too long.")
        self.append(pickle.decode_long(self.read(n)))

    def _container(self, kinds: tuple[type, ...]) -> None:
        # APPEND/SETITEM/ADDITEMS call a method of whatever is on the stack: only real containers may be there.
        if not self.trusted and not isinstance(self.stack[-1], kinds):
            name = _name_of(self.stack[-1])
            raise _unsafe(name, f"The model calls a container method on {name}.")

    def load_append(self) -> None:
        value = self.stack.pop()
        self._container((list,))
        self.stack[-1].append(value)

    def load_appends(self) -> None:
        items = self.pop_mark()
        self._container((list,))
        self.stack[-1].extend(items)

    def load_setitem(self) -> None:
        value, key = self.stack.pop(), self.stack.pop()
        self._container((dict,))
        self.stack[-1][key] = value

    def load_setitems(self) -> None:
        items = self.pop_mark()
        self._container((dict,))
        for i in range(0, len(items), 2):
            self.stack[-1][items[i]] = items[i + 1]

    def load_additems(self) -> None:
        items = self.pop_mark()
        self._container((set,))
        self.stack[-1].update(items)

    def load_build(self) -> None:
        target = self.stack[-2] if len(self.stack) >= 2 else None
        if not self.trusted and id(target) in self._found:
            # BUILD on a class or function would set attributes on it for the whole process.
            raise _unsafe(_name_of(target), f"The model would set the state of {_name_of(target)} itself.")
        if not self.trusted:
            state = self.stack[-1]
            if isinstance(target, np.dtype):
                self._check_dtype_build(target, state)
            else:
                self._mark_used(state)
            if type(target).__module__ == "lightgbm.basic" and isinstance(state, dict):
                # LightGBM parses the model text inside __setstate__: checked before it does.
                from modelwatch.core.intake.native import check_lightgbm_text

                text = state.get("_handle", state.get("handle"))  # the order Booster.__setstate__ reads them in
                if text is not None:
                    check_lightgbm_text(text if isinstance(text, str) else "")
        super().load_build()
        if isinstance(self.stack[-1], ArrayHeader):
            frame = self._unframer.current_frame
            if frame is not None and frame.tell() < len(frame.getbuffer()):
                raise _unsafe("joblib.numpy_pickle.NumpyArrayWrapper", "A joblib array header sits inside a frame.")
            self.stack[-1] = self._read_array(self.stack[-1])

    def _check_dtype_build(self, target: np.dtype, state: Any) -> None:
        """A dtype's state is set once, right after its descriptor, before anything uses it, and as numpy would."""
        if id(target) not in self._fresh_dtypes or id(target) in self._used_dtypes:
            raise _unsafe("numpy.dtype", "The model sets the state of a numpy dtype that is already in use.")
        check_state(target, state)
        del self._fresh_dtypes[id(target)]
        self._used_dtypes[id(target)] = target
        for inner in field_dtypes(state):
            self._used_dtypes[id(inner)] = inner

    def _read_array(self, header: ArrayHeader) -> np.ndarray:
        state = vars(header)
        shape, dtype, order = state.get("shape"), state.get("dtype"), state.get("order", "C")
        if not isinstance(dtype, np.dtype) or not isinstance(shape, tuple) or order not in ("C", "F"):
            raise CorruptModel("A joblib array header is malformed.")
        if state.get("subclass") not in (np.ndarray, None) and not self.trusted:
            raise _unsafe(_name_of(state.get("subclass")), "A joblib array has an unexpected array subclass.")
        count = math.prod(int(n) for n in shape)
        if dtype.hasobject:
            nested = RestrictedUnpickler(self.file, self.allowlist, trusted=self.trusted,
                                         max_array_bytes=self.max_array_bytes - self.array_bytes, nested=True)
            array = nested.load()
            if not isinstance(array, np.ndarray) or array.shape != shape:
                raise CorruptModel("A joblib object array does not match its header.")
            return array
        size = count * dtype.itemsize
        self.array_bytes += size
        if self.array_bytes > self.max_array_bytes:
            raise UnsafeModel(f"The model's arrays claim {self.array_bytes:,} bytes, over the limit.",
                              {"globals": [], "reason": "memory"})
        if "numpy_array_alignment_bytes" in state and state["numpy_array_alignment_bytes"] is not None:
            pad = self.file.read(1)
            self.file.read(pad[0] if pad else 0)
        if size > self._remaining():
            raise CorruptModel("The joblib file ends inside an array.")
        array = np.frombuffer(bytearray(self.file.read(size)), dtype=dtype, count=count)
        return array.reshape(shape[::-1]).transpose() if order == "F" else array.reshape(shape)


for _op in (pickle.INST, pickle.OBJ, pickle.EXT1, pickle.EXT2, pickle.EXT4):
    RestrictedUnpickler.dispatch[_op[0]] = RestrictedUnpickler.load_refused
for _op, _fn in ((pickle.REDUCE, "load_reduce"), (pickle.NEWOBJ, "load_newobj"), (pickle.NEWOBJ_EX, "load_newobj_ex"),
                 (pickle.FRAME, "load_frame"), (pickle.BINBYTES8, "load_binbytes8"), (pickle.BUILD, "load_build"),
                 (pickle.BINUNICODE8, "load_binunicode8"), (pickle.BYTEARRAY8, "load_bytearray8"),
                 (pickle.LONG4, "load_long4"), (pickle.APPEND, "load_append"), (pickle.APPENDS, "load_appends"),
                 (pickle.SETITEM, "load_setitem"), (pickle.SETITEMS, "load_setitems"),
                 (pickle.ADDITEMS, "load_additems")):
    RestrictedUnpickler.dispatch[_op[0]] = getattr(RestrictedUnpickler, _fn)


def _name_of(obj: Any) -> str:
    module = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or type(obj).__qualname__
    return f"{module}.{name}"


def restricted_loads(data: bytes, allowlist: dict[tuple[str, str], frozenset[str]], *, trusted: bool = False,
                     max_array_bytes: int = 1 << 31) -> Any:
    """Unpickle ``data`` (a pickle or a decompressed joblib stream) with the allowlist.

    Raises:
        UnsafeModel: a global, call or construct outside the allowlist.
        CorruptModel: the stream is malformed or truncated.
    """
    unpickler = RestrictedUnpickler(io.BytesIO(data), allowlist, trusted=trusted, max_array_bytes=max_array_bytes)
    try:
        return unpickler.load()
    except (UnsafeModel, CorruptModel, MemoryError):
        raise
    except (pickle.UnpicklingError, EOFError, IndexError, KeyError, ValueError, TypeError, AttributeError, ImportError,
            struct.error, UnicodeDecodeError) as exc:
        # The exception's text may quote the file (a key, a decoded string): only its type is reported.
        raise CorruptModel(f"The model file could not be read ({type(exc).__name__}).",
                           {"type": type(exc).__name__}) from exc
