"""A static, symbolic walk over a pickle's opcodes: which globals it imports and how it would use them.

Nothing is imported or constructed. The walk keeps a symbolic stack and memo so that ``STACK_GLOBAL``
names are resolved through ``MEMOIZE``/``GET`` exactly as the unpickler would; a name that is not a
plain string literal is unresolvable and reported as such. joblib files are pickles with raw array bytes
after each ``NumpyArrayWrapper``; the walk reads the wrapper's shape and dtype, checks the size and
skips the bytes (or walks the nested pickle of an object array).
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

from modelwatch.core.intake.allowlist import ATTRIBUTE_NAME, MODULE_NAME
from modelwatch.core.intake.dtypes import DESCR
from modelwatch.core.intake.opstream import genops
from modelwatch.core.intake.symbols import Global, Obj, SymDict, SymSet, nesting_depth

UNRESOLVED = "<unresolved>"
WRAPPER = ("joblib.numpy_pickle", "NumpyArrayWrapper")
LEGACY_WRAPPERS = {("joblib.numpy_pickle", "NDArrayWrapper"), ("joblib.numpy_pickle_compat", "NDArrayWrapper"),
                   ("joblib.numpy_pickle_compat", "ZNDArrayWrapper")}
RECONSTRUCTORS = {("copyreg", "_reconstructor")}
SIZED_CONSTRUCTORS = {("builtins", "bytes"), ("__builtin__", "bytes"), ("builtins", "bytearray"),
                      ("__builtin__", "bytearray")}
NUMPY_RECONSTRUCT = {("numpy._core.multiarray", "_reconstruct"), ("numpy.core.multiarray", "_reconstruct")}
NUMPY_DTYPE = {("numpy", "dtype")}
MAX_LITERAL = 4096  # longer literals are kept as empty placeholders: the walk never needs their contents


@dataclass(frozen=True)
class ScanLimits:
    """Bounds on the static walk so that any upload costs well under a second and bounded memory."""

    max_array_bytes: int = 4 << 30
    max_opcodes: int = 1_000_000
    max_depth: int = 500
GUARDED_PARTIAL = (("functools", "partial"), ("sklearn.utils.validation", "check_array"))


class ScanError(Exception):
    """The opcode stream is malformed (``corrupt``) or does something never allowed (``unsafe``)."""

    def __init__(self, kind: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.details = details or {}


@dataclass
class ScanReport:
    """What the walk found: each global with its usages, the top-level value and the array sizes."""

    usages: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    top: Any = None
    array_bytes: int = 0
    n_arrays: int = 0
    protocol: int = 0

    def add(self, g: Global) -> None:
        self.usages.setdefault((g.module, g.name), set()).update(g.usage or {"value"})


class _Walker:
    def __init__(self, stream: io.BytesIO, report: ScanReport, limits: ScanLimits) -> None:
        self.stream = stream
        self.report = report
        self.limits = limits
        self.max_array_bytes = limits.max_array_bytes
        self.globals: list[Global] = []
        self.ops = 0
        self.total = stream.seek(0, io.SEEK_END)
        stream.seek(0)
        self.nested = False  # inside an object array's own pickle, where joblib never writes array wrappers
        self.depths: dict[int, tuple[int, Any]] = {}

    def walk(self) -> Any:
        """Walk one pickle (up to its STOP) and return its symbolic top-level value.

        Marks work as in ``pickle``: MARK moves the stack aside (no copy), so MARK/POP_MARK floods stay linear.
        """
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        memo: dict[int, Any] = {}
        frame_end = 0
        while True:
            for op, arg, pos in genops(self.stream, MAX_LITERAL):
                self.ops += 1
                if self.ops > self.limits.max_opcodes:
                    raise ScanError("unsafe", f"The pickle has more than {self.limits.max_opcodes:,} opcodes, over "
                                    "the scan's limit.", {"reason": "complexity", "globals": []})
                name = op.name
                if name == "STOP":
                    if not self.stack:
                        raise ScanError("corrupt", "The pickle ends with an empty stack.")
                    return self.stack[-1]  # what pickle.load returns, whatever else is left below it
                if name == "FRAME":
                    if pos < frame_end:
                        raise ScanError("corrupt", "A pickle frame starts inside another frame.")
                    if arg > self.total - self.stream.tell():
                        raise ScanError("corrupt", "A pickle frame is longer than the file.")
                    frame_end = self.stream.tell() + arg
                    continue
                if name == "BUILD":
                    if self._build(frame_end):
                        break  # genops must restart after the raw array bytes
                    continue
                self._step(name, arg, memo)
            else:
                raise ScanError("corrupt", "The pickle is truncated (no STOP opcode).")

    def _build(self, frame_end: int) -> bool:
        """BUILD: record the state; for a joblib array wrapper skip its raw bytes (True: genops must restart)."""
        state = self.stack.pop()
        target = self.stack[-1]
        if isinstance(target, Global):  # BUILD on a class or function: sets attributes process-wide
            self.globals.append(Global(UNRESOLVED, "build_on_global", {"call"}))
        if isinstance(target, Obj):
            if target.state is not None and self._is_dtype(target):
                raise ScanError("unsafe", "A numpy dtype has its state set twice.", {"globals": ["numpy.dtype"]})
            target.state = state
            self._nested(target, (state,))
            self._check_partial(target, state, "state")
            if self._is_dtype(target):
                self._dtype_layout(target)  # the same rule as the unpickler: the state its descriptor would give
        if not self._is_wrapper(target):
            return False
        if self.nested:
            raise ScanError("unsafe", "A joblib array header sits inside an object array.",
                            {"globals": ["joblib.numpy_pickle.NumpyArrayWrapper"], "reason": "framing"})
        saved = self.stack, self.metastack
        value = self._skip_array(target, state, self.stream.tell() < frame_end)
        self.stack, self.metastack = saved
        self.stack[-1] = value
        return True

    @staticmethod
    def _is_dtype(target: Any) -> bool:
        return isinstance(target.source, Global) and (target.source.module, target.source.name) in NUMPY_DTYPE

    def _is_wrapper(self, target: Any) -> bool:
        return isinstance(target, Obj) and isinstance(target.source, Global) and (
            (target.source.module, target.source.name) == WRAPPER)

    def _skip_array(self, wrapper: Obj, state: Any, in_frame: bool) -> Obj:
        if not isinstance(state, SymDict):
            raise ScanError("corrupt", "A joblib array header is malformed.")
        shape, dtype, order = state.get("shape"), state.get("dtype"), state.get("order")
        if not isinstance(shape, tuple) or not all(isinstance(n, int) and 0 <= n < 1 << 62 for n in shape) or \
                len(shape) > 64:
            raise ScanError("corrupt", "A joblib array has a malformed shape.")
        itemsize, hasobject = self._dtype_layout(dtype)
        size = 0 if hasobject else math.prod(shape) * itemsize
        self.report.n_arrays += 1
        self.report.array_bytes += size
        if size > self.max_array_bytes:
            raise ScanError("unsafe", f"A joblib array claims {size:,} bytes, over the limit of "
                            f"{self.max_array_bytes:,}.", {"reason": "memory", "claimed_bytes": size})
        if in_frame:
            # The unpickler would read the array after the frame, a plain walk inside it: refuse, never guess.
            raise ScanError("unsafe", "A joblib array header sits inside a pickle frame.",
                            {"globals": ["joblib.numpy_pickle.NumpyArrayWrapper"], "reason": "framing"})
        if hasobject:
            # joblib pickles object arrays as a nested pickle stream right after the wrapper.
            self.nested = True
            nested = self.walk()
            self.nested = False
            return Obj(source=("object-array", nested))
        if state.get("numpy_array_alignment_bytes") is not None:
            pad = self.stream.read(1)
            if not pad:
                raise ScanError("corrupt", "The joblib file is truncated inside an array.")
            self.stream.seek(pad[0], io.SEEK_CUR)
        if self.stream.tell() + size > self.total:
            raise ScanError("corrupt", f"A joblib array claims {size:,} bytes but the file ends before.",
                            {"claimed_bytes": size})
        self.stream.seek(size, io.SEEK_CUR)
        if order not in ("C", "F"):
            raise ScanError("corrupt", "A joblib array has an unknown memory order.")
        return Obj(source=("array", dtype.args[0], shape))

    @staticmethod
    def _dtype_layout(dtype: Any, depth: int = 0) -> tuple[int, bool]:
        """Item size and whether items are objects, as the unpickler will build the dtype (see ``dtypes.py``).

        numpy pickles a dtype as REDUCE(numpy.dtype, (descr, align, copy)) then BUILD(state); the unpickler
        refuses a state its descriptor (or, for a structured dtype, its fields) would not produce, so the
        state's item size and flags are the ones the array will have.
        """
        import numpy as np

        ok = isinstance(dtype, Obj) and isinstance(dtype.source, Global) and (
            (dtype.source.module, dtype.source.name) in NUMPY_DTYPE)
        if not ok or not isinstance(dtype.args, tuple) or not dtype.args or not isinstance(dtype.args[0], str):
            raise ScanError("corrupt", "A joblib array has a malformed dtype.")
        descr = dtype.args[0]
        if not DESCR.fullmatch(descr):
            raise ScanError("unsafe", f"A joblib array has an unexpected dtype {descr[:40]!r}.",
                            {"globals": ["numpy.dtype"]})
        try:
            dt = np.dtype(descr)
        except (TypeError, ValueError) as exc:
            raise ScanError("corrupt", f"A joblib array has an unknown dtype {descr!r}.") from exc
        state = dtype.state
        if state is None:
            return dt.itemsize, dt.hasobject
        if not isinstance(state, tuple) or len(state) not in (8, 9) or not all(
                isinstance(state[i], int) for i in (0, 5, 6, 7)):
            raise ScanError("unsafe", "A numpy dtype has a malformed state.", {"globals": ["numpy.dtype"]})
        names, elsize, flags = state[3], state[5], state[7]
        if names is None:
            if elsize not in (-1, dt.itemsize) or flags != dt.flags:
                raise ScanError("unsafe", "A numpy dtype's state changes its size or flags.",
                                {"globals": ["numpy.dtype"]})
            return dt.itemsize, dt.hasobject
        fields = state[4]
        if dt.kind != "V" or not 0 <= elsize <= 1 << 20 or not isinstance(fields, SymDict) or depth > 8:
            raise ScanError("unsafe", "A structured numpy dtype has a malformed state.", {"globals": ["numpy.dtype"]})
        holds_objects = False
        for _, entry in fields.items:
            if not isinstance(entry, tuple) or not entry:
                raise ScanError("unsafe", "A structured numpy dtype has a malformed field.",
                                {"globals": ["numpy.dtype"]})
            holds_objects |= _Walker._dtype_layout(entry[0], depth + 1)[1]
        if bool(flags & 1) != holds_objects:
            raise ScanError("unsafe", "A structured numpy dtype's flags hide its object fields.",
                            {"globals": ["numpy.dtype"]})
        return elsize, holds_objects

    @staticmethod
    def _check_partial(target: Obj, values: Any, where: str) -> None:
        """functools.partial is allowed only around sklearn's check_array, in its arguments and its state."""
        source = target.source
        if not (isinstance(source, Global) and (source.module, source.name) == GUARDED_PARTIAL[0]):
            return
        func = values[0] if isinstance(values, tuple) and values else None
        if not (isinstance(func, Global) and (func.module, func.name) == GUARDED_PARTIAL[1]):
            raise ScanError("unsafe", f"functools.partial wraps something other than check_array (in its {where}).",
                            {"globals": ["functools.partial"]})

    def _new_global(self, module: Any, name: Any) -> Global:
        if not isinstance(module, str) or not isinstance(name, str):
            g = Global(UNRESOLVED, f"{type(module).__name__}.{type(name).__name__}")
        else:
            # Not a plain identifier: never on the allowlist (which holds identifiers only), reported shortened.
            plain = MODULE_NAME.fullmatch(module) and ATTRIBUTE_NAME.fullmatch(name)
            g = Global(module, name) if plain else Global(module[:80], name[:80] or "<empty>")
        self.globals.append(g)
        return g

    def _call(self, func: Any, args: Any, how: str) -> Obj:
        if isinstance(func, Global):
            func.usage.add(how)
            key = (func.module, func.name)
            if key in RECONSTRUCTORS and isinstance(args, tuple) and args and isinstance(args[0], Global):
                args[0].usage.add("new")
            if key == GUARDED_PARTIAL[0]:
                self._check_partial(Obj(source=func), args, "args")
            if key in SIZED_CONSTRUCTORS and isinstance(args, tuple) and args and isinstance(args[0], int):
                raise ScanError("unsafe", f"{func.key}({args[0]}) would allocate memory by size.", {"reason": "memory"})
            if key in NUMPY_RECONSTRUCT and isinstance(args, tuple) and len(args) >= 2:
                shape = args[1]
                small = isinstance(shape, tuple) and all(isinstance(n, int) and 0 <= n < 1 << 62 for n in shape)
                if not small or math.prod(shape) != 0:
                    raise ScanError("unsafe", "numpy._reconstruct is asked to allocate a large array.",
                                    {"reason": "memory"})
        else:
            # A call of a computed value (getattr(...)(...), attrgetter(...)(os)): never allowed; reported with
            # the named globals that built it rather than stopping here.
            self.globals.append(Global(UNRESOLVED, "call_of_computed_value", {how}))
        return self._nested(Obj(source=func, args=args), (args,))

    def _step(self, name: str, arg: Any, memo: dict[int, Any]) -> None:
        stack = self.stack
        if name in _LITERALS:
            too_long = isinstance(arg, (bytes, bytearray, str)) and len(arg) > MAX_LITERAL
            stack.append(arg[:0] if too_long else arg)
        elif name == "MARK":
            if len(self.metastack) >= self.limits.max_depth:
                raise ScanError("unsafe", "The pickle nests marks deeper than the scan's limit.",
                                {"reason": "complexity", "globals": []})
            self.metastack.append(stack)
            self.stack = []
        elif name in ("EMPTY_LIST",):
            stack.append([])
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "EMPTY_DICT":
            stack.append(SymDict())
        elif name == "EMPTY_SET":
            stack.append(SymSet())
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            if len(stack) < n:
                raise ScanError("corrupt", "The pickle's stack underflows.")
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(self._nested(items, items))
        elif name in _MARKED:
            items = self._pop_mark()
            self._marked(name, arg, items, self.stack)
        elif name == "APPEND":
            value = stack.pop()
            self._check_container(stack[-1])
            if isinstance(stack[-1], list):
                stack[-1].append(value)
                self._nested(stack[-1], (value,))
        elif name == "SETITEM":
            value, key = stack.pop(), stack.pop()
            self._check_container(stack[-1])
            if isinstance(stack[-1], SymDict):
                stack[-1].items.append((key, value))
                self._nested(stack[-1], (key, value))
        elif name == "POP":
            if stack:
                stack.pop()
            else:
                self._pop_mark()
        elif name == "DUP":
            stack.append(stack[-1])
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[int(arg)] = stack[-1]
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            if int(arg) not in memo:
                raise ScanError("corrupt", "The pickle reads a memo entry it never wrote.")
            stack.append(memo[int(arg)])
        elif name == "GLOBAL":
            module, _, gname = arg.partition(" ")
            stack.append(self._new_global(module, gname))
        elif name == "STACK_GLOBAL":
            gname, module = stack.pop(), stack.pop()
            stack.append(self._new_global(module, gname))
        elif name == "REDUCE":
            args, func = stack.pop(), stack.pop()
            stack.append(self._call(func, args, "call"))
        elif name == "NEWOBJ":
            args, cls = stack.pop(), stack.pop()
            stack.append(self._call(cls, args, "new"))
        elif name == "NEWOBJ_EX":
            kwargs, args, cls = stack.pop(), stack.pop(), stack.pop()
            stack.append(self._call(cls, (args, kwargs), "new"))
        elif name in ("PERSID", "BINPERSID", "EXT1", "EXT2", "EXT4", "NEXT_BUFFER"):
            raise ScanError("unsafe", f"The pickle uses {name}, which modelwatch never allows.",
                            {"globals": [f"<{name}>"]})
        elif name == "PROTO":
            self.report.protocol = int(arg)
        elif name == "READONLY_BUFFER":
            pass
        else:
            raise ScanError("corrupt", f"Unexpected pickle opcode {name}.")

    def _nested(self, value: Any, items: Any) -> Any:
        """Record how deep ``value`` nests; refuse early past the limit (the walk's end checks it exactly)."""
        depths = self.depths
        depth = 1 + max((depths[id(item)][0] for item in items if id(item) in depths), default=0)
        if depth > self.limits.max_depth:
            raise ScanError("unsafe", f"The pickle nests values deeper than {self.limits.max_depth} levels.",
                            {"reason": "complexity", "globals": []})
        if depth > depths.get(id(value), (0,))[0]:
            depths[id(value)] = (depth, value)  # the value is kept alive so that its id is never reused
        return value

    def _pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise ScanError("corrupt", "The pickle pops a mark it never set.")
        items = self.stack
        self.stack = self.metastack.pop()
        return items

    def _check_container(self, target: Any) -> None:
        # APPEND/SETITEM/ADDITEMS call a method of whatever is on the stack; a class or function is never a container.
        if isinstance(target, Global):
            self.globals.append(Global(UNRESOLVED, "container_op_on_global", {"call"}))

    def _marked(self, name: str, arg: Any, items: list[Any], stack: list[Any]) -> None:
        if name in ("APPENDS", "SETITEMS", "ADDITEMS"):
            self._check_container(stack[-1])
        if name == "TUPLE":
            stack.append(self._nested(tuple(items), items))
        elif name == "LIST":
            stack.append(self._nested(items, items))
        elif name == "DICT":
            stack.append(self._nested(SymDict(list(zip(items[::2], items[1::2]))), items))
        elif name == "FROZENSET":
            # Never hashed: hashing an attacker-built tuple can recurse a million levels deep.
            stack.append(self._nested(SymSet(items), items))
        elif name == "APPENDS":
            if isinstance(stack[-1], list):
                stack[-1].extend(items)
                self._nested(stack[-1], items)
        elif name == "SETITEMS":
            if isinstance(stack[-1], SymDict):
                stack[-1].items.extend(zip(items[::2], items[1::2]))
                self._nested(stack[-1], items)
        elif name == "ADDITEMS":
            if isinstance(stack[-1], SymSet):
                stack[-1].items.extend(items)
                self._nested(stack[-1], items)
        elif name == "POP_MARK":
            pass
        elif name == "INST":
            module, _, gname = arg.partition(" ")
            stack.append(self._call(self._new_global(module, gname), tuple(items), "call"))
        elif name == "OBJ":
            if not items:
                raise ScanError("corrupt", "OBJ without a class.")
            stack.append(self._call(items[0], tuple(items[1:]), "call"))


_LITERALS = {
    "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING", "SHORT_BINSTRING",
    "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE", "SHORT_BINUNICODE", "BINUNICODE",
    "BINUNICODE8", "FLOAT", "BINFLOAT", "NONE", "NEWTRUE", "NEWFALSE",
}
_MARKED = {"TUPLE", "LIST", "DICT", "FROZENSET", "APPENDS", "SETITEMS", "ADDITEMS", "POP_MARK", "INST", "OBJ"}


def walk_pickle(data: bytes, limits: ScanLimits = ScanLimits()) -> ScanReport:
    """Walk a pickle (or a decompressed joblib stream) without executing it.

    Args:
        data: the raw bytes.
        limits: the walk's bounds.

    Returns:
        The report: every global with its usages, the symbolic top-level value, array totals.

    Raises:
        ScanError: ``corrupt`` for a malformed or truncated stream, ``unsafe`` for constructs never allowed or
            beyond the limits.
    """
    stream = io.BytesIO(data)
    report = ScanReport()
    walker = _Walker(stream, report, limits)
    try:
        report.top = walker.walk()
    except ScanError:
        raise
    except (ValueError, EOFError, IndexError, KeyError, TypeError, AttributeError, UnicodeDecodeError,
            OverflowError) as exc:
        raise ScanError("corrupt", f"The pickle is malformed or truncated ({type(exc).__name__}).") from exc
    if nesting_depth(report.top, limits.max_depth) > limits.max_depth:
        raise ScanError("unsafe", f"The pickle nests values deeper than {limits.max_depth} levels.",
                        {"reason": "complexity", "globals": []})
    for g in walker.globals:
        report.add(g)
    return report
