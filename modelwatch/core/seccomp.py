"""A small ctypes wrapper over libseccomp: forbid network sockets, new processes and touching other processes.

Used by the sandbox child just before it loads a model. Threads stay allowed (numeric libraries need
them); ``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``, ``execve``, ``socket`` and signals to other
processes fail with ``EPERM``. Where libseccomp is missing, :func:`install` returns False and the
sandbox records that seccomp was not active.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from functools import lru_cache

ACT_ALLOW = 0x7FFF0000
CLONE_THREAD = 0x00010000
ATTR_CTL_TSYNC = 4  # scmp_filter_attr: apply the filter to every thread of the process
CMP_NE, CMP_MASKED_EQ = 1, 7

# Syscalls refused outright: process creation, networking, other processes' memory, kernel state.
DENIED = (
    "fork", "vfork", "execve", "execveat", "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "ptrace", "process_vm_readv", "process_vm_writev", "tkill", "mount", "umount2", "unshare", "setns",
    "pivot_root", "chroot", "reboot", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
    "open_by_handle_at", "name_to_handle_at", "swapon", "swapoff", "acct", "settimeofday", "clock_settime",
)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


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


def install() -> bool:
    """Install the filter on the calling process (all its threads). Irreversible.

    Returns:
        True when the filter is active; False when libseccomp is unavailable or refused the filter.
    """
    lib = _library()
    if lib is None:
        return False
    ctx = lib.seccomp_init(ACT_ALLOW)
    if not ctx:
        return False
    try:
        lib.seccomp_attr_set(ctx, ATTR_CTL_TSYNC, 1)
        deny = _errno_action(errno.EPERM)
        rules: list[tuple[str, int, list[_ArgCmp]]] = [(name, deny, []) for name in DENIED]
        pid = os.getpid()
        rules += [
            # clone() that makes a thread is fine; one that makes a process is not.
            ("clone", deny, [_ArgCmp(0, CMP_MASKED_EQ, CLONE_THREAD, 0)]),
            # glibc falls back from clone3 to clone on ENOSYS, where the flags can be checked.
            ("clone3", _errno_action(errno.ENOSYS), []),
            ("kill", deny, [_ArgCmp(0, CMP_NE, pid, 0)]),
            ("tgkill", deny, [_ArgCmp(0, CMP_NE, pid, 0)]),
        ]
        for name, action, args in rules:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue  # not a syscall on this architecture
            array = (_ArgCmp * max(len(args), 1))(*args)
            if lib.seccomp_rule_add_array(ctx, action, number, len(args), array) != 0:
                return False
        return lib.seccomp_load(ctx) == 0
    finally:
        lib.seccomp_release(ctx)
