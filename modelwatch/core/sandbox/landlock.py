"""Landlock (Linux 5.13+) through raw syscalls: the sandbox child may read only the code it runs, write only its dir.

It may never make a device node, FIFO, socket file or symlink, even in its own directory; from ABI 4 no TCP
bind/connect, from ABI 6 no signal or abstract Unix socket to a process outside its sandbox.

Without it, a child that runs as the same user as the web process could read the database file or the
application's configuration. Where the kernel has no Landlock, :func:`restrict` returns False and the
sandbox records that the filesystem was not restricted.
"""
from __future__ import annotations

import ctypes
import os
import platform
import sys
from pathlib import Path

# x86_64 and aarch64 share these numbers (they were added after the syscall tables were unified).
SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446
RULE_PATH_BENEATH = 1
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
MAKE_CHAR, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 6, 1 << 9, 1 << 10, 1 << 11, 1 << 12
ALL_V1 = (1 << 13) - 1  # execute .. make_sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15  # ABI 2, 3, 5
NET_TCP = 0b11  # ABI 4: bind and connect; handled with no rule, so refused
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2  # ABI 6: no signal or abstract socket out of the sandbox
# Never granted, even in the private directory: device nodes, FIFOs, sockets and symlinks.
NEVER = MAKE_CHAR | MAKE_BLOCK | MAKE_FIFO | MAKE_SOCK | MAKE_SYM | IOCTL_DEV
READ_ONLY_DIR = EXECUTE | READ_FILE | READ_DIR
READ_ONLY_FILE = EXECUTE | READ_FILE
# Device files and pseudo-filesystems a numeric library may read; nothing there belongs to the application.
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
SYSTEM_READ = ("/usr", "/lib", "/lib64", "/bin", "/sys/devices/system/cpu", "/sys/fs/cgroup", "/proc/self",
               "/etc/ld.so.cache", "/etc/localtime")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def abi_version() -> int:
    """Landlock's ABI version, or 0 where the kernel lacks it (or on another architecture)."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"):
        return 0
    version = _libc().syscall(SYS_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    return max(int(version), 0)


def readable_roots(package_root: Path) -> list[str]:
    """What the child may read: the interpreter, its libraries, the modelwatch package (not the app's data)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, str(package_root / "modelwatch")}
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path.is_dir() and path != package_root.resolve() and path != Path("/") and "site-packages" in path.parts:
            roots.add(str(path))
    return sorted(roots)


def handled_access(abi: int) -> int:
    """Every filesystem right this ABI knows: all of them are refused unless a rule grants them."""
    return ALL_V1 | (REFER if abi >= 2 else 0) | (TRUNCATE if abi >= 3 else 0) | (IOCTL_DEV if abi >= 5 else 0)


def ruleset(workdir: Path, package_root: Path) -> tuple[int, int]:
    """Build the child's rules (while the code's paths can still be opened); returns (ruleset fd, ABI) or (-1, 0)."""
    abi = abi_version()
    if abi < 1:
        return -1, 0
    handled = handled_access(abi)
    attr = _RulesetAttr(handled, NET_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 24 if abi >= 6 else 16 if abi >= 4 else 8
    libc = _libc()
    fd = libc.syscall(SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        return -1, 0
    rules = [(p, READ_ONLY_DIR) for p in (*SYSTEM_READ, *readable_roots(package_root))]
    rules += [(p, READ_FILE | WRITE_FILE | (TRUNCATE if abi >= 3 else 0)) for p in DEVICES]
    rules.append((str(workdir), handled & ~NEVER))
    for path, access in rules:
        _add_rule(libc, fd, path, access)
    return fd, abi


def enforce(fd: int, abi: int) -> int:
    """Restrict this process (and the threads it starts later) to the ruleset; the ABI in force, or 0."""
    if fd < 0:
        return 0
    libc = _libc()
    try:
        if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS, required before restricting
            return 0
        return abi if libc.syscall(SYS_RESTRICT_SELF, ctypes.c_int(fd), ctypes.c_uint32(0)) == 0 else 0
    finally:
        os.close(fd)


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # absent on this system: nothing to allow
    try:
        if not os.path.isdir(path):
            access &= READ_ONLY_FILE | WRITE_FILE | TRUNCATE | IOCTL_DEV  # directory rights are invalid on a file
        rule = _PathBeneath(access, fd)
        libc.syscall(SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(RULE_PATH_BENEATH), ctypes.byref(rule),
                     ctypes.c_uint32(0))
    finally:
        os.close(fd)
