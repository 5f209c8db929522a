"""numpy dtypes from a file, only as their descriptor (or their fields) would make them.

numpy pickles a dtype as ``numpy.dtype(descr, align, copy)`` then ``__setstate__(state)``; the state carries the
item size, the fields and the flags, and numpy believes it. A forged state (an object field with the "holds
objects" flag cleared, an item size larger than the fields) turns file bytes into ``PyObject*`` pointers. So a
dtype is built from a plain descriptor, its state must equal the state numpy itself gives a dtype rebuilt from
the descriptor (or from the fields, with numpy's own checks), and it is set once, before anything uses it.
"""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from modelwatch.errors import UnsafeModel

# numpy type descriptors as numpy pickles them: byte order, kind, size ('<f8', 'O8', 'V64', 'U12', 'M8').
DESCR = re.compile(r"[<>|=]?[a-zA-Z]{1,2}[0-9]{0,8}")
MAX_ITEMSIZE = 1 << 20


def _refuse(message: str) -> UnsafeModel:
    return UnsafeModel(message, {"globals": ["numpy.dtype"]})


def dtype_from_descriptor(descr: Any, align: Any = False, copy: Any = True) -> np.dtype:
    """``numpy.dtype`` as a pickle may call it: a short string descriptor, never a dict, list or object."""
    if not isinstance(descr, str) or not DESCR.fullmatch(descr) or not isinstance(align, bool):
        raise _refuse("numpy.dtype may only be built from a plain type descriptor.")
    try:
        dt = np.dtype(descr, align=align, copy=True)  # a copy: never the shared builtin descriptor itself
    except (TypeError, ValueError) as exc:
        raise _refuse(f"numpy.dtype refused the descriptor {descr!r}.") from exc
    if dt.itemsize > MAX_ITEMSIZE:
        raise _refuse("numpy.dtype was asked for a huge item.")
    return dt


def rebuilt_state(dt: np.dtype, state: Any) -> tuple[Any, ...]:
    """The state numpy gives the dtype that ``state`` describes, rebuilt through numpy's checked constructors.

    Raises:
        UnsafeModel: the state is malformed or numpy refuses the layout it describes.
    """
    if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
        raise _refuse("A numpy dtype has a malformed state.")
    _version, endian, subdescr, names, fields, elsize, _alignment, flags = state[:8]
    if not all(isinstance(v, int) for v in (elsize, flags)) or not isinstance(endian, str):
        raise _refuse("A numpy dtype has a malformed state.")
    try:
        if subdescr is not None:
            if not (isinstance(subdescr, tuple) and len(subdescr) == 2 and isinstance(subdescr[0], np.dtype)
                    and isinstance(subdescr[1], tuple) and all(isinstance(n, int) for n in subdescr[1])):
                raise _refuse("A numpy sub-array dtype has a malformed state.")
            rebuilt = np.dtype((subdescr[0], subdescr[1]))
        elif names is None:
            rebuilt = dt if dt.byteorder == "|" or endian not in ("<", ">") else dt.newbyteorder(endian)
        else:
            rebuilt = _structured(names, fields, elsize, flags)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _refuse(f"numpy refused the dtype the file describes ({type(exc).__name__}).") from exc
    return rebuilt.__reduce__()[2]


def _structured(names: Any, fields: Any, elsize: int, flags: int) -> np.dtype:
    if not (isinstance(names, tuple) and all(isinstance(n, str) for n in names) and isinstance(fields, dict)
            and len(fields) == len(names)):
        raise _refuse("A structured numpy dtype has malformed fields.")
    formats, offsets = [], []
    for name in names:
        entry = fields.get(name)
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[0], np.dtype)
                and isinstance(entry[1], int)):
            raise _refuse("A structured numpy dtype has malformed fields.")
        formats.append(entry[0])
        offsets.append(entry[1])
    align = bool(flags & 0x80)  # NPY_ALIGNED_STRUCT
    return np.dtype({"names": list(names), "formats": formats, "offsets": offsets, "itemsize": elsize}, align=align)


def field_dtypes(state: Any) -> list[np.dtype]:
    """The dtypes a (checked) state refers to: its fields' and its sub-array's."""
    found = []
    if isinstance(state[4], dict):
        found += [entry[0] for entry in state[4].values()]
    if state[2] is not None:
        found.append(state[2][0])
    return found


def check_state(dt: np.dtype, state: Any) -> None:
    """Refuse a state that differs from the one numpy gives the dtype it describes (size, fields, flags)."""
    if rebuilt_state(dt, state)[:8] != state[:8]:
        raise _refuse("A numpy dtype's state changes its size, fields or flags.")
