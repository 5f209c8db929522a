"""Where the warm worker keeps numba's compiled code between starts, so that only the first one compiles.

numba reads its cache back with pickle: whoever can write there runs code in the next warm worker, which is not
sandboxed. So the directory is used only where no sandboxed child can write it (the caller decides: children run
as another uid, or Landlock confines their writes to their own directory) and only when it is private: this user's
own directory, mode 0700, on a path whose every parent is owned by this user or root and open to no one else's
writes (sticky directories such as /tmp aside), the checks OpenSSH makes of ``~/.ssh``. Otherwise each warm worker
compiles into its own temporary directory, as a cold start does.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path


def _safe_parent(info: os.stat_result) -> bool:
    others_write = info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    return info.st_uid in (0, os.geteuid()) and (not others_write or bool(info.st_mode & stat.S_ISVTX))


def private_dir(path: str) -> str | None:
    """``path`` (created 0700 where missing) as a real path, or None where someone else could write to it."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
        real = Path(os.path.realpath(path))
        info = os.lstat(real)
        parents = [os.stat(parent) for parent in real.parents]
    except OSError:
        return None
    mine = stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077
    return str(real) if mine and all(_safe_parent(parent) for parent in parents) else None
