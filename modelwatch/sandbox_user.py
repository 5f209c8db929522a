"""Create the unprivileged user the sandbox runs models as, when the server runs as root and it is missing.

modelwatch refuses to start as root without it (``core.sandbox.privileges``). Run before the server or a worker starts
(``make run``, ``make test`` and the Procfile do): ``python -m modelwatch.sandbox_user``. A no-op for a non-root
server, or when ``MODELWATCH_SANDBOX_USER`` names a ``uid:gid``.
"""
from __future__ import annotations

import os
import pwd
import subprocess

from modelwatch.core.sandbox.runner import DEFAULT_USER


def ensure(user: str) -> bool:
    """Create ``user`` (system account, no home, no shell) when this process is root and it does not exist.

    Returns:
        True when the user was created.
    """
    if ":" in user or os.geteuid() != 0:
        return False
    try:
        pwd.getpwnam(user)
        return False
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", user], check=True)
        return True


if __name__ == "__main__":
    ensure(os.environ.get("MODELWATCH_SANDBOX_USER", DEFAULT_USER))
