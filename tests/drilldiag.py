"""pytest plugin the harness tests load into the drill subprocesses they run (`-p drilldiag`).

SIGUSR1 makes the drill process, and every child it forked, append every thread's Python
stack to $ERDRILL_DIAG_STACKS (tests/drillrun.py sets it to <drills>/pystacks.txt) and carry
on, so a drill the test thinks hung shows where each thread is before the test kills it.
faulthandler's handler is C code: it works while the main thread is blocked in a lock or a
system call. (Not stderr: pytest's capture has fd 2 while a test runs.)
"""

from __future__ import annotations

import faulthandler
import os
import signal
from typing import IO

_FILE: list[IO[str]] = []  # kept open for the life of the process (faulthandler needs it)


def pytest_configure() -> None:
    path = os.environ.get("ERDRILL_DIAG_STACKS")
    if not path:
        return
    f = open(path, "a", buffering=1)  # noqa: SIM115 - open for the whole process
    _FILE.append(f)
    faulthandler.register(signal.SIGUSR1, file=f, all_threads=True, chain=False)
