"""Exit codes of `pytest features/` and `erdrill`, in one place, for schedulers and CI.

A scheduled drill is judged by its exit code alone: 0 passed, 10-13 the drill's outcome
(worst first when a run holds several drills), 14-16 the harness refused or could not
restore. pytest's own codes stay for what is not a drill outcome (1 a failure outside
any drill, 4 usage error, 5 nothing collected). docs/scheduling.md has the table.
"""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """What a drill run ended with."""

    PASSED = 0
    USAGE = 2  # `erdrill`: a bad option, config or topology (one line on stderr)
    LIMIT_EXCEEDED = 10  # failed over, but a figure (or the time to get there) broke its limit
    NO_FAILOVER = 11  # traffic never reached the expected path by the abort limit
    ABORTED = 12  # interrupted (SIGINT, SIGTERM, SIGHUP): the fault was undone
    HARNESS_ERROR = 13  # the harness, lab or environment broke: the network was not judged
    LOCKED = 14  # another drill runs against the same target: nothing was done
    OPEN_FAULT = 15  # an earlier drill's fault is still in place and cannot be undone here
    NOT_RESTORED = 16  # ExpressRoute does NOT carry traffic after the drill: act now
