"""Exit codes of `pytest features/` and `erdrill`, in one place, for schedulers and CI.

A scheduled drill is judged by its exit code alone: 0 passed, 10-13 the drill's outcome
(worst first when a run holds several drills), 14-16 the harness refused or could not
restore. pytest's own codes stay for what is not a drill outcome (1 a failure outside
any drill, 4 usage error, 5 nothing collected). docs/scheduling.md has the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

__all__ = ["ExitCode", "run_exit_code"]


class ExitCode(IntEnum):
    """What a drill run ended with."""

    PASSED = 0
    USAGE = 2  # `erdrill`: a bad option, config or topology (one line on stderr)
    LIMIT_EXCEEDED = 10  # failed over, but a figure broke its limit
    NO_FAILOVER = 11  # traffic did not reach the expected path (or did not come back)
    ABORTED = 12  # interrupted (SIGINT, SIGTERM, SIGHUP): the fault was undone
    HARNESS_ERROR = 13  # the harness, lab or environment broke: the network was not judged
    LOCKED = 14  # another drill runs against the same target: nothing was done
    OPEN_FAULT = 15  # an earlier drill's fault is still in place and cannot be undone here
    NOT_RESTORED = 16  # ExpressRoute does NOT carry traffic after the drill: act now


# A run with several drills ends with its worst outcome; this is the order, worst first.
_BY_SEVERITY = [
    ExitCode.NOT_RESTORED,
    ExitCode.ABORTED,
    ExitCode.HARNESS_ERROR,
    ExitCode.NO_FAILOVER,
    ExitCode.LIMIT_EXCEEDED,
]
_BY_CATEGORY = {
    "not-restored": ExitCode.NOT_RESTORED,
    "interrupted": ExitCode.ABORTED,
    "harness-error": ExitCode.HARNESS_ERROR,
    "no-failover": ExitCode.NO_FAILOVER,
    "limit-exceeded": ExitCode.LIMIT_EXCEEDED,
}
PYTEST_OK = 0
PYTEST_INTERRUPTED = 2
PYTEST_INTERNAL_ERROR = 3


def run_exit_code(outcomes: Iterable[tuple[str, str | None]], pytest_status: int) -> int:
    """The exit code of a drill run from its drills' (verdict, failure category) and pytest's.

    A run interrupted by a signal is ABORTED even if no drill had started; a failed or
    aborted drill without a known category counts as a harness error; with no drill at
    all, pytest's own status stays (usage error, nothing collected, a refused lock).
    """
    found: set[ExitCode] = set()
    for verdict, category in outcomes:
        if verdict == "passed":
            continue
        found.add(_BY_CATEGORY.get(category or "", ExitCode.HARNESS_ERROR))
    if pytest_status == PYTEST_INTERRUPTED:
        found.add(ExitCode.ABORTED)
    elif pytest_status == PYTEST_INTERNAL_ERROR:
        found.add(ExitCode.HARNESS_ERROR)
    for code in _BY_SEVERITY:
        if code in found:
            return int(code)
    return pytest_status  # every drill passed (0), or no drill ran: pytest's own status
