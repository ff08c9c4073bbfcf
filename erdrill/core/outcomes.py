"""How a drill ends: phases, verdicts, failure categories and the exceptions that carry them.

One table maps each failure category to its exit code and its report category, so the
engine, the pytest plugin, the exit code and the Allure categories never disagree.
Failure messages start with a fixed prefix (``limit exceeded:``, ``did not fail over:``)
so the report sorts failures by cause from the message alone.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from erdrill.core.errors import ErdrillError
from erdrill.core.exitcodes import ExitCode

__all__ = [
    "CATEGORIES",
    "LIMIT_EXCEEDED_PREFIX",
    "NO_FAILOVER_PREFIX",
    "Category",
    "CategoryInfo",
    "LimitExceeded",
    "NoFailover",
    "Outcome",
    "Phase",
    "RestoreFailed",
    "SessionState",
    "SteadyStateViolation",
    "Verdict",
    "outcome_of",
    "run_exit_code",
]

LIMIT_EXCEEDED_PREFIX: Final = "limit exceeded:"
NO_FAILOVER_PREFIX: Final = "did not fail over:"


class Phase(enum.StrEnum):
    """The phases of the documented test plan, in the order a drill goes through them."""

    SETUP = "setup"
    STEADY_STATE = "steady-state"
    PROBING = "probing"
    FAILOVER = "failover"
    ON_VPN = "on-vpn"
    ON_EXPRESSROUTE = "on-expressroute"
    RESTORE = "restore"
    FAILBACK = "failback"
    REPORT = "report"
    DONE = "done"


class Verdict(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"
    PLANNED = "planned"  # --plan: every write printed, nothing written


class Category(enum.StrEnum):
    """Why a drill did not pass."""

    LIMIT_EXCEEDED = "limit-exceeded"
    NO_FAILOVER = "no-failover"
    HARNESS_ERROR = "harness-error"
    INTERRUPTED = "interrupted"
    NOT_RESTORED = "not-restored"


class SessionState(enum.StrEnum):
    """Where a drill session is: repairing, building, ready, tearing down, closed."""

    NEW = "new"
    REPAIRING = "repairing"
    BUILDING = "building"
    READY = "ready"
    TEARING_DOWN = "tearing-down"
    CLOSED = "closed"


@dataclass(frozen=True)
class CategoryInfo:
    """What a category means to a scheduler (exit code) and to the report (its category)."""

    exit_code: ExitCode
    report_name: str
    description: str
    message_regex: str | None = None  # matched against the failure message by Allure


# Regexes are written for Java (Allure 2, full match), JavaScript (Allure 3, search) and
# Python alike: no inline flags, `[\s\S]*` instead of DOTALL.
CATEGORIES: Final[dict[Category, CategoryInfo]] = {
    Category.LIMIT_EXCEEDED: CategoryInfo(
        ExitCode.LIMIT_EXCEEDED,
        "Limit exceeded",
        "The network failed over, but a figure (outage, loss, the time traffic took to "
        "reach its path) broke its limit.",
        r"[\s\S]*[Ll]imit exceeded[\s\S]*",
    ),
    Category.NO_FAILOVER: CategoryInfo(
        ExitCode.NO_FAILOVER,
        "Network did not fail over",
        "Traffic never reached the backup path by the abort limit (or never came back).",
        r"[\s\S]*([Dd]id not fail over|[Nn]o failover)[\s\S]*",
    ),
    Category.HARNESS_ERROR: CategoryInfo(
        ExitCode.HARNESS_ERROR,
        "Harness or environment error",
        "The harness, the lab or the environment broke; the network was not judged.",
    ),
    Category.INTERRUPTED: CategoryInfo(
        ExitCode.ABORTED, "Interrupted", "A signal ended the drill; the fault was undone."
    ),
    Category.NOT_RESTORED: CategoryInfo(
        ExitCode.NOT_RESTORED,
        "ExpressRoute not restored",
        "ExpressRoute did not carry traffic after the drill: act now.",
    ),
}


class SteadyStateViolation(AssertionError):
    """The network is not in its steady state (asymmetric routing, a session down, ...)."""

    def __init__(self, message: str, problems: Sequence[object] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class LimitExceeded(AssertionError):
    """A measured figure broke the operator's limit; the message starts with `limit exceeded:`."""


class NoFailover(AssertionError):
    """Traffic never reached the expected path (by the abort limit); `did not fail over:`."""


class RestoreFailed(ErdrillError):
    """The fault was undone but ExpressRoute did not carry traffic again."""

    exit_code = int(ExitCode.NOT_RESTORED)


@dataclass(frozen=True)
class Outcome:
    """A drill's verdict, its failure category (None when passed) and the message."""

    verdict: Verdict
    category: Category | None = None
    message: str = ""


def outcome_of(error: BaseException | None, *, completed: bool = True) -> Outcome:
    """The outcome of a drill that ended with `error` (None: no error).

    A drill with no error that did not complete every step was cut short by a signal.
    """
    if error is None:
        if completed:
            return Outcome(Verdict.PASSED)
        return Outcome(Verdict.ABORTED, Category.INTERRUPTED)
    if isinstance(error, KeyboardInterrupt):
        return Outcome(Verdict.ABORTED, Category.INTERRUPTED, str(error))
    if isinstance(error, RestoreFailed):
        return Outcome(Verdict.FAILED, Category.NOT_RESTORED, str(error))
    if isinstance(error, LimitExceeded):
        return Outcome(Verdict.FAILED, Category.LIMIT_EXCEEDED, str(error))
    if isinstance(error, AssertionError):  # NoFailover, SteadyStateViolation, a failed check
        return Outcome(Verdict.FAILED, Category.NO_FAILOVER, str(error))
    return Outcome(Verdict.ABORTED, Category.HARNESS_ERROR, f"{type(error).__name__}: {error}")


# A run with several drills ends with its worst outcome; this is the order, worst first.
_BY_SEVERITY = [
    ExitCode.NOT_RESTORED,
    ExitCode.ABORTED,
    ExitCode.HARNESS_ERROR,
    ExitCode.NO_FAILOVER,
    ExitCode.LIMIT_EXCEEDED,
]
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
        if verdict in (Verdict.PASSED, Verdict.PLANNED):
            continue
        known = {c.value: c for c in Category}.get(category or "")
        found.add(CATEGORIES[known].exit_code if known else ExitCode.HARNESS_ERROR)
    if pytest_status == PYTEST_INTERRUPTED:
        found.add(ExitCode.ABORTED)
    elif pytest_status == PYTEST_INTERNAL_ERROR:
        found.add(ExitCode.HARNESS_ERROR)
    for code in _BY_SEVERITY:
        if code in found:
            return int(code)
    return pytest_status  # every drill passed (0), or no drill ran: pytest's own status
