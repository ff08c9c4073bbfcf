"""The drill: phases of the documented test plan, timed by probes, undone whatever happens.

A `Drill` is usable without pytest: the Gherkin steps only call its methods.
Phases (core.outcomes.Phase): setup -> steady-state -> probing -> failover -> on-vpn ->
restore -> failback -> report -> done. Every phase change is written to the drill record
at once, so an interrupted or failed drill still leaves everything it measured; an
aborted drill's record keeps the phase it was aborted in.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from erdrill.core import journal
from erdrill.core.faults import Fault, FaultLedger, FaultsNotUndone, applied
from erdrill.core.outcomes import (
    Category,
    Outcome,
    Phase,
    RestoreFailed,
    Verdict,
    outcome_of,
)
from erdrill.core.paths import ON_EXPRESSROUTE, PathPair
from erdrill.core.record import DrillRecord, save
from erdrill.core.routes import RouteTable
from erdrill.core.settings import DrillSettings
from erdrill.drill.measuring import Measuring
from erdrill.drill.sessions import SessionChecks
from erdrill.drill.signals import signal_name, signals_deferred
from erdrill.drill.steady_state import SteadyStateChecks, paths_at
from erdrill.drill.transitions import Transitions, effective_instant
from erdrill.drill.watch import PathWatcher
from erdrill.drill.watchdog import Rescue, finished_within, take_second_path
from erdrill.probes.prober import Prober
from erdrill.probes.samples import Sample
from erdrill.probes.sessions import SessionProbe
from erdrill.targets.target import Target, target_key

__all__ = ["DRILLS_DIR", "Drill", "PauseHook", "target_key"]

DRILLS_DIR = Path("reports/drills")

# Called with the drill and a phase once that phase is under way; tests use it to hold a
# drill still and signal it (failover: right after the inject; probing: once probes run).
PauseHook = Callable[["Drill", Phase], None]


def _no_pause(_drill: Drill, _phase: Phase) -> None:
    return None


def _iso(t: float | None = None) -> str:
    return datetime.fromtimestamp(t if t is not None else time.time(), UTC).isoformat(
        timespec="milliseconds"
    )


class Drill(SteadyStateChecks, Measuring, Transitions, SessionChecks):
    """One failover drill against one target, from steady state to failback."""

    def __init__(
        self,
        target: Target,
        settings: DrillSettings | None = None,
        *,
        scenario: str = "",
        drills_dir: Path = DRILLS_DIR,
        run_id: str | None = None,
        state_dir: Path | None = None,
        lock_held: bool = False,
        pause: PauseHook = _no_pause,
    ) -> None:
        self.target = target
        self.settings = settings or DrillSettings()
        self.drills_dir = drills_dir
        self.state_dir = state_dir
        self.run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
        self.key = target_key(target)
        self.record = DrillRecord(
            run_id=self.run_id,
            target=target.name,
            scenario=scenario,
            started_at=_iso(),
            operator=os.environ.get("ERDRILL_OPERATOR") or getpass.getuser(),
            host=socket.gethostname(),
            labels=target.describe(),
            probe_rate=self.settings.rate,
            sampling_interval_ms=1000.0 / self.settings.rate,
            limits=dict(self.settings.limits_ms),
        )
        self.ledger = FaultLedger(self.key, self.run_id, state_dir)
        self.fault: Fault | None = None
        self.fault_requested_at: float | None = None
        self.fault_at: float | None = None  # when the fault took effect (see drill.transitions)
        self.restore_requested_at: float | None = None
        self.restore_at: float | None = None
        self.switched_at: float | None = None
        self.back_at: float | None = None
        self.prober: Prober | None = None
        self.session_probe: SessionProbe | None = None  # long-lived sessions (drill.sessions)
        self.watcher: PathWatcher | None = None
        self.samples: list[Sample] = []
        self.route_snapshots: dict[str, list[RouteTable]] = {}
        self.pause = pause
        # called with one status line during long waits ("" clears it); None shows nothing
        self.progress: Callable[[str], None] | None = None
        self._applied: contextlib.ExitStack | None = None  # the fault, while it is in place
        self._held: list[int] = []  # signals that came while an undo ran
        self.planned = False  # --plan: the fault was printed, not injected
        self.rescue: Rescue | None = None  # what the watchdog's second path did, if it ran
        self._lock: journal.DrillLock | None = None
        self._lock_held = lock_held  # the caller (a drill session) already holds the lock
        self._closed = False
        self._paused: set[Phase] = set()

    # ---- record keeping --------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.drills_dir / self.run_id / "drill.json"

    @property
    def run_dir(self) -> Path:
        return self.drills_dir / self.run_id

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def fault_active(self) -> bool:
        """Whether the fault is in place (injected and not yet undone)."""
        return self._applied is not None

    def enter(self, phase: Phase) -> None:
        """Move to a phase and write the record at once."""
        self.record.phase = phase
        self.save()
        if phase not in (Phase.FAILOVER, Phase.PROBING):  # those pause once under way
            self._pause(phase)

    def _pause(self, phase: Phase) -> None:
        if phase not in self._paused:
            self._paused.add(phase)
            self.pause(self, phase)

    def save(self) -> Path:
        return save(self.record, self.drills_dir)

    # ---- phases ----------------------------------------------------------------------

    def begin(self) -> None:
        """Take the target's lock, undo faults earlier drills left, make the target ready."""
        if not self._lock_held:
            self._lock = journal.acquire(self.key, self.run_id, self.state_dir)
        if self._lock is not None and self._lock.took_over:
            self.record.findings.append(
                f"took over a stale drill lock of run {self._lock.took_over.get('run_id')} "
                f"(pid {self._lock.took_over.get('pid')} is gone)"
            )
        self.enter(Phase.SETUP)
        self.target.ensure_ready()

    def start_probes(self) -> None:
        self.enter(Phase.PROBING)
        self.watcher = PathWatcher(self.target).start()
        self.prober = Prober(
            self.target.probe_targets(),
            rate=self.settings.rate,
            namespace=self.target.probe_namespace(),
            late_ms=self.settings.late_ms,
            allowed_networks=self.target.allowed_networks(),
        )
        self.prober.start()
        self.open_sessions()
        self._pause(Phase.PROBING)
        self.snapshot("before")
        time.sleep(max(self.settings.sustain_s / 2, 0.5))  # a baseline before the fault

    def inject(self, name: str | None = None) -> None:
        """Resolve the fault (an unknown name fails here), journal it durably, inject it."""
        fault = self.target.fault(name or self.target.default_fault)
        self.fault = fault
        self.record.fault = fault.name
        if self.settings.plan:  # the target prints every write and sends none
            fault.inject()
            fault.undo()
            self.planned = True
            self.record.message = "planned: every write was printed, nothing was written"
            self.save()
            return
        self.enter(Phase.FAILOVER)
        stack = contextlib.ExitStack()
        stack.enter_context(
            applied(
                [fault],
                self.ledger,
                injecting=self._injecting,
                undoing=self._undoing,
            )
        )
        self._applied = stack
        self.fault_at = self._took_effect(self.fault_requested_at, probe_loss=True)
        self._pause(Phase.FAILOVER)

    def _took_effect(self, requested: float | None, *, probe_loss: bool) -> float:
        """The effective instant of what was just requested; written beside the request."""
        returned = time.time()
        if requested is None:
            return returned
        at = effective_instant(
            requested, returned, self.watcher, self.prober, probe_loss=probe_loss
        )
        event = self.record.events[-1]
        event.update(returned=returned, effective=at)
        self.save()
        return at

    def _injecting(self, fault: Fault) -> None:
        self.fault_at = self.fault_requested_at = time.time()
        self.record.events.append({"kind": "fault", "wall": self.fault_at, "detail": fault.name})
        self.save()

    def _undoing(self, fault: Fault) -> None:
        self.restore_at = self.restore_requested_at = time.time()
        self.record.events.append(
            {"kind": "restore", "wall": self.restore_at, "detail": fault.name}
        )

    @contextlib.contextmanager
    def _undo_guard(self) -> Iterator[None]:
        """An undo is never cut in half: signals wait until it is done."""
        with signals_deferred() as held:
            yield
        self._held.extend(held)

    def restore(self) -> None:
        """Undo the fault (journal cleared only once undone)."""
        if self._applied is None:
            return
        self.snapshot("during")
        if self.watcher:
            self.record.paths["during"] = paths_at(self.watcher.current)
        self.enter(Phase.RESTORE)
        self._undo()
        self.restore_at = self._took_effect(self.restore_requested_at, probe_loss=False)
        if self._held:
            raise KeyboardInterrupt(f"signal {signal_name(self._held[0])}")
        self.enter(Phase.FAILBACK)

    def _undo(self) -> None:
        """Undo the fault within the watchdog's bound, else by the second path."""
        applied_fault, self._applied = self._applied, None
        if applied_fault is None:
            return
        bound = self.settings.undo_timeout_s
        try:
            with self._undo_guard():
                if not finished_within(applied_fault.close, bound, "undo"):
                    self.rescue = take_second_path(
                        self.record,
                        self.key,
                        self.state_dir,
                        bound,
                        self.settings.restore_timeout_s,
                    )
        finally:
            self.save()

    def finish_probes(self) -> None:
        """Let recovery be sustained, then stop the probes and measure both transitions."""
        if self.prober is None:
            return
        self._sleep(self.settings.sustain_s, "recovery must be sustained")
        self._stop_probes()

    def _stop_probes(self) -> None:
        self.close_sessions()
        if self.prober is not None:
            with contextlib.suppress(Exception):
                self.samples = self.prober.stop()
            self.prober = None
        if self.watcher is not None:
            self.watcher.stop()
        self.measure()

    # ---- the safety net --------------------------------------------------------------

    def close(self, outcome: Outcome, report: Callable[[], None] | None = None) -> None:
        """End the drill: undo the fault if still in place, wait for ExpressRoute, write all.

        Runs on every exit path (pass, failure, exception, interrupt); each step runs even
        if an earlier one failed, and failures to restore are reported together at the end.
        Signals are held until the network is back and the record written; one that came
        meanwhile makes the drill `aborted` and is raised as KeyboardInterrupt at the end.
        An aborted drill's record keeps the phase it was aborted in. `report` (evidence,
        history) runs last, in phase `report`; interrupted there, the drill is `aborted`.
        """
        if self._closed:
            return
        self._closed = True
        aborted_in = self.record.phase
        left_broken: list[str] = []
        verdict, category, message = outcome.verdict, outcome.category, outcome.message
        with signals_deferred() as held:
            self._put_back(left_broken)
            with contextlib.suppress(Exception):
                if self.prober is not None or (self.watcher and self.watcher.history):
                    self._stop_probes()
            if self.rescue is not None and self.rescue.paths is not None:
                self.record.paths["after"] = paths_at(PathPair.from_dict(self.rescue.paths))
            elif self.fault is not None:
                self.snapshot("after")
                with contextlib.suppress(Exception):
                    self.record.paths["after"] = paths_at(self.target.paths())
            if self.fault is not None:
                self.record.ground_truth = self.ground_truth()
            with contextlib.suppress(Exception):
                self.record.api_calls = self.target.api_calls()
            held[:0] = self._held
            if held and verdict != Verdict.ABORTED:
                had = f"{verdict}: {message}" if message else verdict
                message = (
                    f"interrupted by {signal_name(held[0])} while closing (the drill had {had})"
                )
                verdict, category = Verdict.ABORTED, Category.INTERRUPTED
            self.record.verdict = verdict
            self.record.message = message
            self.record.failure_category = category
            if left_broken:
                self.record.findings.extend(left_broken)
                self.record.verdict = (
                    Verdict.ABORTED if verdict == Verdict.ABORTED else Verdict.FAILED
                )
                self.record.failure_category = Category.NOT_RESTORED
            self.record.finished_at = _iso()
            self.record.phase = (
                aborted_in if self.record.verdict == Verdict.ABORTED else Phase.REPORT
            )
            self.save()
        try:
            if self.record.verdict != Verdict.ABORTED:
                self._pause(Phase.REPORT)
            if report is not None:
                report()
            if self.record.verdict != Verdict.ABORTED:
                self.enter(Phase.DONE)
        except BaseException as exc:
            how = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            self.record.message = (
                f"{how} while writing the report ({exc or type(exc).__name__}); "
                f"the drill had {self.record.verdict}"
                + (f": {self.record.message}" if self.record.message else "")
            )
            self.record.verdict = Verdict.ABORTED
            self.record.failure_category = (
                Category.INTERRUPTED if how == "interrupted" else Category.HARNESS_ERROR
            )
            self.save()
            raise
        finally:
            if self._lock is not None:
                self._lock.release()
        if left_broken:
            raise RestoreFailed(
                "ExpressRoute is NOT restored: "
                + "; ".join(left_broken)
                + f" (drill {self.run_id}; fix by hand or run `erdrill lab restore`)"
            )
        if held:
            raise KeyboardInterrupt(f"signal {signal_name(held[0])}")

    def _put_back(self, left_broken: list[str]) -> None:
        """Undo the fault if still in place and wait for ExpressRoute; collect what failed."""
        if self._applied is not None:
            self.snapshot("during")
            if self.watcher:
                self.record.paths["during"] = paths_at(self.watcher.current)
            try:
                self._undo()
            except FaultsNotUndone as exc:
                left_broken.extend(f"undo of {name} failed: {e}" for name, e in exc.failures)
            except Exception as exc:
                left_broken.append(f"undo of {self.record.fault} failed: {exc}")
        if self.fault is not None and not left_broken:
            try:
                self._wait_expressroute()
            except Exception as exc:
                left_broken.append(str(exc))

    def _wait_expressroute(self) -> None:
        if self.rescue is not None and self.rescue.paths is not None:
            # the first path's target may be stuck in this process: trust the fresh one
            paths = PathPair.from_dict(self.rescue.paths)
            if paths != ON_EXPRESSROUTE:
                raise RestoreFailed(
                    f"ExpressRoute does not carry traffic after the second path: {paths}"
                )
            return
        deadline = time.monotonic() + self.settings.restore_timeout_s
        while True:
            paths = self.target.paths()
            if paths == ON_EXPRESSROUTE:
                return
            if time.monotonic() > deadline:
                raise RestoreFailed(
                    f"ExpressRoute does not carry traffic {self.settings.restore_timeout_s:.0f} s "
                    f"after the restore: {paths}"
                )
            time.sleep(0.1)

    # ---- as a context manager ----------------------------------------------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[Drill]:
        """`with drill.running():` closes with the right verdict whatever happens inside."""
        try:
            yield self
        except KeyboardInterrupt as exc:
            self.close(
                Outcome(Verdict.ABORTED, Category.INTERRUPTED, self.interrupted_message(exc))
            )
            raise
        except BaseException as exc:
            self.close(outcome_of(exc))
            raise
        else:
            self.close(Outcome(Verdict.PASSED))

    def interrupted_message(self, exc: BaseException | None = None) -> str:
        """`interrupted by SIGTERM in phase on-vpn` (the fault is undone by close)."""
        what = str(exc).removeprefix("signal ") if exc is not None and str(exc) else "SIGINT"
        return f"interrupted by {what} in phase {self.record.phase}"
