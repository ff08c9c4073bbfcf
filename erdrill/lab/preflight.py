"""Can this machine build a lab? Root, and every daemon binary the lab runs."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

from erdrill.core.errors import EnvironmentProblem

__all__ = ["DAEMONS", "preflight"]

DAEMONS = {
    "bird": "/usr/sbin/bird",
    "birdc": "/usr/sbin/birdc",
    "charon": "/usr/lib/ipsec/charon",
    "swanctl": "/usr/sbin/swanctl",
    "nft": "/usr/sbin/nft",
    "ip": "/usr/sbin/ip",
    "unshare": "/usr/bin/unshare",
}


def preflight(binaries: Iterable[str] = DAEMONS) -> None:
    """Check the machine can build the lab: root, and every daemon binary present."""
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "the lab needs root (network namespaces): run as root, e.g. with sudo"
        )
    for name in binaries:
        path = DAEMONS[name]
        if not (os.access(path, os.X_OK) or shutil.which(name)):
            raise EnvironmentProblem(
                f"{name} is missing ({path}): run scripts/setup.sh to install it"
            )
