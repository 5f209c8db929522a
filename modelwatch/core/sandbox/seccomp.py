"""A small ctypes wrapper over libseccomp that installs the allow-list of ``seccomp_policy`` (default: EPERM).

Used by the sandbox child just before it runs the task. Threads stay allowed (numeric libraries need them)
but a ``clone`` that would make a process or a namespace does not; signals, resource limits, priorities and
scheduling act only on the process itself. Where libseccomp is missing, :func:`install` returns None and the
sandbox records that no syscall filter was active.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from functools import lru_cache

from modelwatch.core.sandbox import seccomp_policy as policy

ACT_ALLOW = 0x7FFF0000
ATTR_CTL_TSYNC = 4  # scmp_filter_attr: apply the filter to every thread of the process
CMP_EQ, CMP_MASKED_EQ = 4, 7
MODE = "allowlist"


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


def _eq(arg: int, value: int) -> _ArgCmp:
    return _ArgCmp(arg, CMP_EQ, value, 0)


def _masked(arg: int, mask: int, value: int) -> _ArgCmp:
    return _ArgCmp(arg, CMP_MASKED_EQ, mask, value)


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        return None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def available() -> bool:
    """True when libseccomp can be loaded on this platform."""
    return _library() is not None


def rules(pid: int, sibling: int | None = None) -> list[tuple[str, int, list[_ArgCmp]]]:
    """Every (syscall, action, argument conditions) the filter allows; ``sibling``: the one process this one
    may wait for (``core.sandbox.sibling``).

    The conditions of one rule must all hold (libseccomp takes one condition per argument); rules for the
    same syscall are alternatives.
    """
    allow: list[tuple[str, int, list[_ArgCmp]]] = [(name, ACT_ALLOW, []) for name in policy.ALLOWED]
    allow += [("ioctl", ACT_ALLOW, [_masked(1, 0xFFFFFFFF, request)]) for request in policy.IOCTLS.values()]
    allow += [("prctl", ACT_ALLOW, [_eq(0, option)]) for option in policy.PRCTLS.values()]
    allow += [(name, ACT_ALLOW, [_eq(0, pid)]) for name in (*policy.SELF_AT_ARG0, *policy.SELF_OR_ZERO_AT_ARG0)]
    allow += [(name, ACT_ALLOW, [_eq(0, 0)]) for name in policy.SELF_OR_ZERO_AT_ARG0]
    allow += [(name, ACT_ALLOW, [_eq(0, 0), _eq(1, who)]) for name in policy.PRIORITY for who in (0, pid)]
    # a thread, never a process or a namespace
    allow.append(("clone", ACT_ALLOW, [_masked(0, policy.CLONE_THREAD | policy.CLONE_NAMESPACES,
                                               policy.CLONE_THREAD)]))
    # glibc falls back from clone3 (whose flags sit in memory, out of the filter's reach) to clone on ENOSYS
    allow.append(("clone3", _errno_action(errno.ENOSYS), []))
    if sibling is not None:
        allow += [(name, ACT_ALLOW, [_eq(0, sibling)]) for name in policy.SIBLING_AT_ARG0]
    return allow


def install(sibling: int | None = None) -> str | None:
    """Install the filter on the calling process (all its threads). Irreversible. ``sibling``: see ``rules``.

    Returns:
        ``"allowlist"`` when the filter is active; None when libseccomp is unavailable or refused it.
    """
    lib = _library()
    if lib is None:
        return None
    ctx = lib.seccomp_init(_errno_action(errno.EPERM))
    if not ctx:
        return None
    try:
        lib.seccomp_attr_set(ctx, ATTR_CTL_TSYNC, 1)
        for name, action, args in rules(os.getpid(), sibling):
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue  # not a syscall on this architecture
            array = (_ArgCmp * max(len(args), 1))(*args)
            if lib.seccomp_rule_add_array(ctx, action, number, len(args), array) != 0:
                return None
        return MODE if lib.seccomp_load(ctx) == 0 else None
    finally:
        lib.seccomp_release(ctx)
