"""A drill session: repair, build, lock, make ready, run drills, tear down. No pytest needed.

    with DrillSession(DrillOptions()) as session:
        with session.drill("the documented plan") as drill:
            drill.begin()
            ...
    session.exit_code()

Every step of the way out runs even if an earlier one failed. SIGINT, SIGTERM and SIGHUP
become KeyboardInterrupt in the main thread (a forked helper just exits), so a drill
interrupted anywhere still undoes its fault on the way out.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, TracebackType

from erdrill.core import journal
from erdrill.core.errors import ConfigError, ErdrillError
from erdrill.core.exitcodes import ExitCode
from erdrill.core.outcomes import (
    Category,
    Outcome,
    SessionState,
    Verdict,
    outcome_of,
    run_exit_code,
)
from erdrill.core.settings import DrillOptions
from erdrill.drill.engine import DRILLS_DIR, Drill, PauseHook, target_key
from erdrill.drill.signals import DRILL_SIGNALS, forked_child_exits, signal_name
from erdrill.targets.factory import make_target, repair_open_faults
from erdrill.targets.target import Target

__all__ = ["DrillSession", "install_interrupt_handlers", "session_exit_code"]

USAGE_EXIT = 4  # pytest's usage error: a bad config, topology or option


def install_interrupt_handlers(seen: list[str]) -> None:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt in this process; `seen` names them."""

    def interrupt(signum: int, _frame: FrameType | None) -> None:
        seen.append(signal_name(signum))
        raise KeyboardInterrupt(f"signal {signal_name(signum)}")

    handler = forked_child_exits(interrupt)
    for sig in DRILL_SIGNALS:
        signal.signal(sig, handler)


def session_exit_code(exc: ErdrillError) -> int:
    """A bad config or topology is a usage error; a lab that fails to come up, a harness error."""
    if isinstance(exc, ConfigError):
        return USAGE_EXIT
    if exc.exit_code == ErdrillError.exit_code:
        return int(ExitCode.HARNESS_ERROR)
    return exc.exit_code  # locked, open fault, not restored: core/exitcodes.py


def _print(line: str) -> None:
    print(line, flush=True)


class DrillSession:
    """One target for a run of drills, held under its lock from repair to teardown."""

    def __init__(
        self,
        options: DrillOptions,
        *,
        drill_config: Path | None = None,
        topology: Path | None = None,
        keep: bool = False,
        drills_dir: Path = DRILLS_DIR,
        say: Callable[[str], None] = _print,
    ) -> None:
        self.options = options
        self.drill_config = drill_config
        self.topology = topology
        self.keep = keep
        self.drills_dir = drills_dir
        self.say = say
        self.state = SessionState.NEW
        self.outcomes: list[Outcome] = []
        self.interrupted_by: list[str] = []  # signals that interrupted this session
        self._target: Target | None = None
        self._lock: journal.DrillLock | None = None

    @property
    def target(self) -> Target:
        if self._target is None:
            raise RuntimeError("the drill session is not open")
        return self._target

    @property
    def key(self) -> str:
        return target_key(self.target)

    # ---- opening and closing ------------------------------------------------------------

    def open(self) -> Target:
        """Repair what dead drills left, build the target, take its lock, make it ready."""
        self.state = SessionState.REPAIRING
        try:
            for line in repair_open_faults(self.options):
                self.say(f"erdrill: undid a fault an earlier drill left in place: {line}")
            self.state = SessionState.BUILDING
            self._target = make_target(self.options, self.drill_config, self.topology)
            # One drill session per target: a second is refused naming the first.
            self._lock = journal.acquire(self.key, f"session-{os.getpid()}")
            stale = self._lock.took_over
            if stale:
                self.say(
                    f"erdrill: took over a stale drill lock of run {stale.get('run_id')} "
                    f"(pid {stale.get('pid')} on {stale.get('host')} is gone)"
                )
            self._target.ensure_ready()
        except BaseException:
            self.close()  # ours: a half-built lab is not left behind, unless kept
            raise
        self.state = SessionState.READY
        return self._target

    def close(self) -> None:
        """Tear the target down (unless kept) and release the lock; idempotent, best effort."""
        if self.state is SessionState.CLOSED:
            return
        self.state = SessionState.TEARING_DOWN
        try:
            if self._target is not None and self._lock is not None and not self.keep:
                with contextlib.suppress(Exception):
                    self._target.teardown()
        finally:
            if self._lock is not None:
                self._lock.release()
            self.state = SessionState.CLOSED

    def __enter__(self) -> DrillSession:
        self.open()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    # ---- drills ---------------------------------------------------------------------------

    def new_drill(self, scenario: str = "", pause: PauseHook | None = None) -> Drill:
        """A drill of this session (under the session's lock, which names it)."""
        d = Drill(
            self.target,
            self.options.settings,
            scenario=scenario,
            drills_dir=self.drills_dir,
            lock_held=True,
        )
        if pause is not None:
            d.pause = pause
        if self._lock is not None:
            self._lock.retag(d.run_id, d.record.started_at)  # a refused drill is told who runs
        return d

    def close_drill(
        self, d: Drill, outcome: Outcome, report: Callable[[], None] | None = None
    ) -> None:
        """Close a drill with its outcome and count it for the session's exit code."""
        try:
            d.close(outcome, report=report)
        finally:
            category = d.record.failure_category
            self.outcomes.append(Outcome(d.record.verdict, category, d.record.message))

    @contextlib.contextmanager
    def drill(self, scenario: str = "") -> Iterator[Drill]:
        """`with session.drill(...) as d:` closes the drill with the right outcome."""
        d = self.new_drill(scenario)
        try:
            yield d
        except KeyboardInterrupt as exc:
            interrupted = Outcome(Verdict.ABORTED, Category.INTERRUPTED, d.interrupted_message(exc))
            self.close_drill(d, interrupted)
            raise
        except BaseException as exc:
            self.close_drill(d, outcome_of(exc))
            raise
        else:
            self.close_drill(d, Outcome(Verdict.PASSED))

    def interrupted(self, d: Drill) -> Outcome:
        """The outcome of a drill cut short by a signal (the last one this session saw)."""
        last = self.interrupted_by[-1] if self.interrupted_by else None
        exc = KeyboardInterrupt(f"signal {last}") if last else None
        return Outcome(Verdict.ABORTED, Category.INTERRUPTED, d.interrupted_message(exc))

    def exit_code(self, pytest_status: int = 0) -> int:
        """The run's exit code: the worst drill outcome, else pytest's (or 0)."""
        pairs = [(o.verdict.value, o.category.value if o.category else None) for o in self.outcomes]
        return run_exit_code(pairs, pytest_status)
