"""Who the sandbox child is: an unprivileged uid/gid with no capabilities, locked securebits, no new privileges.

The parent resolves the operator's sandbox user once (:func:`resolve_identity`); each child, after every
module it can need is imported, calls :func:`drop` before it reads the model. Started as root it becomes
that user for good; started by an unprivileged parent there is no uid to drop, only capabilities. Where a
drop is impossible (root without a sandbox user) the sandbox fails closed unless the operator allowed it to
run insecurely.
"""
from __future__ import annotations

import ctypes
import os
import pwd
from dataclasses import dataclass
from typing import Any

PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_GET_SECUREBITS, PR_SET_NO_NEW_PRIVS = 24, 28, 27, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
# noroot, no_setuid_fixup stays off (setuid clears capabilities), keep_caps off, no ambient raise: all locked
SECUREBITS = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 5) | (1 << 6) | (1 << 7)
CAPABILITY_VERSION_3 = 0x20080522
CAP_FIELDS = ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot drop root here and the operator did not allow it to run insecurely."""


@dataclass(frozen=True)
class Identity:
    """What the child becomes: ``uid``/``gid`` to switch to (None: stay as started) and whether that is allowed."""

    uid: int | None
    gid: int | None
    insecure: bool = False  # the operator's override: root without a sandbox user, recorded in every Run


def resolve_identity(user: str, allow_insecure: bool = False) -> Identity:
    """The identity for children of this process; ``user`` is a name or ``uid:gid``.

    Raises:
        SandboxUnavailable: running as root, the user does not exist, and ``allow_insecure`` is off.
    """
    if os.geteuid() != 0:
        return Identity(None, None)  # nothing to drop: the child runs as this unprivileged user
    try:
        if ":" in user:
            uid, gid = (int(part) for part in user.split(":", 1))
        else:
            entry = pwd.getpwnam(user)
            uid, gid = entry.pw_uid, entry.pw_gid
    except (KeyError, ValueError):
        if allow_insecure:
            return Identity(None, None, insecure=True)
        raise SandboxUnavailable(
            f"The sandbox user {user!r} does not exist, and models must not run as root. Create it "
            f"(useradd --system --no-create-home --shell /usr/sbin/nologin {user}), name another one with "
            "MODELWATCH_SANDBOX_USER, or set MODELWATCH_SANDBOX_ALLOW_INSECURE=1 to run models as root "
            "(recorded in every Run)."
        ) from None
    if uid == 0 or gid == 0:
        raise SandboxUnavailable(f"The sandbox user {user!r} is root; name an unprivileged user.")
    return Identity(uid, gid)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 63


def drop(identity: Identity) -> dict[str, Any]:
    """Become ``identity`` with an empty capability set and no way back; say what is in force.

    Raises:
        SandboxUnavailable: started as root, the switch failed and the identity is not marked insecure.
    """
    libc = _libc()
    if os.geteuid() == 0:
        libc.prctl(PR_SET_SECUREBITS, SECUREBITS, 0, 0, 0)
        for cap in range(_last_cap() + 1):
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
        if identity.uid is not None and identity.gid is not None:
            try:
                os.setgroups([])
                os.setresgid(identity.gid, identity.gid, identity.gid)
                os.setresuid(identity.uid, identity.uid, identity.uid)
            except OSError as exc:
                raise SandboxUnavailable(f"The sandbox could not switch to uid {identity.uid}: {exc}.") from None
        elif not identity.insecure:
            raise SandboxUnavailable("The sandbox has no unprivileged user to run models as.")
    header, data = _CapHeader(CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    libc.capset(ctypes.byref(header), data)  # empty effective, permitted and inheritable sets
    libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return describe()


def describe() -> dict[str, Any]:
    """This process's identity and capability sets as the kernel reports them."""
    caps = {}
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if key in CAP_FIELDS or key == "NoNewPrivs":
                    caps[key] = value.strip()
    except OSError:
        pass
    return {
        "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
        "capabilities": {key: caps.get(key) for key in CAP_FIELDS},
        "no_capabilities": all(caps.get(key) == "0000000000000000" for key in ("CapEff", "CapPrm", "CapInh",
                                                                                "CapAmb")),
        "no_new_privs": caps.get("NoNewPrivs") == "1",
        "securebits": _libc().prctl(PR_GET_SECUREBITS, 0, 0, 0, 0),
    }
