"""The drill: phases of the documented test plan, timed by probes, undone whatever happens.

A `Drill` is usable without pytest: the Gherkin steps only call its methods.
Phases (core.outcomes.Phase): setup -> steady-state -> probing -> failover -> on-vpn ->
restore -> failback -> report -> done. Every phase change is written to the drill record
at once, so an interrupted or failed drill still leaves everything it measured; an
aborted drill's record keeps the phase it was aborted in.

The drill holds its parts, each owning its state: the `Timeline` (instants), `Probing`
(watcher and prober), `Sessions`, `Injection` (the fault in place and its undo),
`Transitions` (dating and waiting), `Measurement` (figures and limits) and `SteadyState`.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from erdrill.core import journal
from erdrill.core.faults import Fault, FaultLedger
from erdrill.core.outcomes import Outcome, Phase, SteadyStateViolation
from erdrill.core.paths import ON_VPN, PathPair
from erdrill.core.record import DrillRecord, save
from erdrill.core.settings import DrillSettings
from erdrill.drill.closing import report_failed, restore_failed, settle_verdict
from erdrill.drill.injection import Injection
from erdrill.drill.measuring import Measurement
from erdrill.drill.pacing import Pacer, Sleep
from erdrill.drill.probing import Probing
from erdrill.drill.sessions import Sessions
from erdrill.drill.signals import signal_name, signals_deferred
from erdrill.drill.steady_state import SteadyState, paths_at
from erdrill.drill.timeline import Timeline
from erdrill.drill.transitions import Transitions
from erdrill.drill.watch import PathWatcher
from erdrill.probes.samples import Sample
from erdrill.targets.target import Health, Target, target_key

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


class Drill:
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
        sleep: Sleep = time.sleep,
    ) -> None:
        self.target = target
        self.settings = settings = settings or DrillSettings()
        self.drills_dir = drills_dir
        self.state_dir = state_dir
        self.run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
        self.key = target_key(target)
        self.record = record = DrillRecord(
            run_id=self.run_id,
            target=target.name,
            scenario=scenario,
            started_at=_iso(),
            operator=os.environ.get("ERDRILL_OPERATOR") or getpass.getuser(),
            host=socket.gethostname(),
            labels=target.describe(),
            probe_rate=settings.rate,
            sampling_interval_ms=1000.0 / settings.rate,
            limits=dict(settings.limits_ms),
        )
        self.pause = pause
        self.planned = False  # --plan: the fault was printed, not injected
        self.timeline = Timeline()
        self.pacer = Pacer(sleep)
        self.probing = Probing(target, settings)
        self.pacer.status = self.probing.status
        self.sessions = Sessions(target, settings)
        ledger = FaultLedger(self.key, self.run_id, state_dir)
        self.injection = Injection(target, settings, record, ledger, sleep)
        self.transitions = Transitions(
            record, settings, self.timeline, self.probing, self.pacer, self.save
        )
        self.measurement = Measurement(
            target, settings, record, self.timeline, self.probing, self.pacer, self.save
        )
        self.checks = SteadyState(target)
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
        return self.injection.active

    @property
    def progress(self) -> Callable[[str], None] | None:
        """Called with one status line during long waits ("" clears it); None shows nothing."""
        return self.pacer.progress

    @progress.setter
    def progress(self, show: Callable[[str], None] | None) -> None:
        self.pacer.progress = show

    @property
    def samples(self) -> list[Sample]:
        """The probes' samples (all of them once the probes stopped)."""
        return self.probing.samples

    @property
    def watcher(self) -> PathWatcher | None:
        """The path watcher (its history is the timeline's path spans)."""
        return self.probing.watcher

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

    def steady_state(self) -> Health:
        """Check the steady state; asymmetric routing and a winning VPN are findings."""
        self.enter(Phase.STEADY_STATE)
        seen = self.checks.assess()
        self.record.paths["before"] = paths_at(seen.health.paths)
        self.record.information.extend(seen.information)
        if seen.problems:
            texts = [p.text for p in seen.problems]
            self.record.findings.extend(texts)
            self.save()
            raise SteadyStateViolation("steady state violated: " + "; ".join(texts), seen.problems)
        return seen.health

    def steady_state_violation(self) -> str:
        """Check the steady state; why it is violated, or "" when it holds."""
        try:
            self.steady_state()
        except SteadyStateViolation as exc:
            return str(exc)
        return ""

    def check_sessions(self) -> None:
        self.checks.check_sessions()

    def check_tunnel(self) -> None:
        self.checks.check_tunnel()

    def check_same_prefixes(self) -> None:
        self.checks.check_same_prefixes()

    def start_probes(self) -> None:
        self.enter(Phase.PROBING)
        self.probing.start()
        self.sessions.open()
        self._pause(Phase.PROBING)
        self.snapshot("before")
        self.pacer.sleep(max(self.settings.sustain_s / 2, 0.5))  # a baseline before the fault

    def inject(self, name: str | None = None) -> None:
        """Resolve the fault (an unknown name fails here), journal it durably, inject it."""
        fault = self.target.fault(name or self.target.default_fault)
        self.injection.fault = fault
        self.record.fault = fault.name
        if self.settings.plan:  # the target prints every write and sends none
            fault.inject()
            fault.undo()
            self.planned = True
            self.record.message = "planned: every write was printed, nothing was written"
            self.save()
            return
        self.enter(Phase.FAILOVER)
        self.injection.apply(fault, self._injecting, self._undoing)
        t = self.timeline
        t.fault_at = self.transitions.took_effect(t.fault_requested, probe_loss=True)
        self._pause(Phase.FAILOVER)

    def _injecting(self, fault: Fault) -> None:
        self.transitions.requested("fault", fault.name)
        self.save()

    def _undoing(self, fault: Fault) -> None:
        self.transitions.requested("restore", fault.name)

    def await_paths(self, expected: PathPair, within_s: float, transition: str) -> float:
        """Wait until both directions use `expected`; seconds from the effective event
        (see `Transitions.await_paths`: past the abort limit the fault is undone at once)."""
        took = self.transitions.await_paths(expected, within_s, transition, abort=self.restore)
        if transition == "failover":
            self.enter(Phase.ON_VPN if expected == ON_VPN else Phase.ON_EXPRESSROUTE)
        return took

    def restore(self) -> None:
        """Undo the fault (journal cleared only once undone)."""
        if not self.injection.active:
            return
        self._keep_during()
        self.enter(Phase.RESTORE)
        self._undo()
        t = self.timeline
        t.restore_at = self.transitions.took_effect(t.restore_requested, probe_loss=False)
        if self.injection.held:
            raise KeyboardInterrupt(f"signal {signal_name(self.injection.held[0])}")
        self.enter(Phase.FAILBACK)

    def _keep_during(self) -> None:
        """The routes and paths while the fault is in place, kept before it is undone."""
        self.snapshot("during")
        if self.probing.current is not None:
            self.record.paths["during"] = paths_at(self.probing.current)

    def _undo(self) -> None:
        try:
            self.injection.undo()
        finally:
            self.save()

    def finish_probes(self) -> None:
        """Let recovery be sustained, then stop the probes and measure both transitions."""
        if not self.probing.running:
            return
        self.pacer.wait(self.settings.sustain_s, "recovery must be sustained")
        self._stop_probes()

    def _stop_probes(self) -> None:
        t = self.timeline
        results = self.sessions.close(t.fault_requested, t.restore_requested)
        if results is not None:
            self.record.sessions = results
            self.save()
        self.probing.stop()
        self.measure()

    # ---- figures (drill.measuring) -----------------------------------------------------

    def measure(self) -> None:
        self.measurement.measure()

    def measure_now(self) -> None:
        self.measurement.measure_now()

    def check_ground_truth(self) -> dict[str, Any]:
        return self.measurement.check_ground_truth()

    def ground_truth(self) -> dict[str, Any] | None:
        return self.measurement.ground_truth()

    def snapshot(self, phase: str) -> None:
        self.measurement.snapshot(phase)

    def check_limit(self, transition: str, figure: str, limit_ms: float) -> float:
        return self.measurement.check_limit(transition, figure, limit_ms)

    def check_outage(self, transition: str, limit_ms: float) -> None:
        self.measurement.check_outage(transition, limit_ms)

    def hold(self, seconds: float | None = None) -> list[Sample]:
        return self.measurement.hold(seconds)

    def check_holds(self, expected: PathPair, seconds: float) -> None:
        self.measurement.check_holds(expected, seconds)

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
        with signals_deferred() as held:
            left_broken = self._put_back()
            self._collect_evidence()
            held[:0] = self.injection.held
            settle_verdict(self.record, outcome, held, left_broken, aborted_in, _iso())
            self.save()
        try:
            self._report(report)
        finally:
            if self._lock is not None:
                self._lock.release()
        if left_broken:
            raise restore_failed(left_broken, self.run_id)
        if held:
            raise KeyboardInterrupt(f"signal {signal_name(held[0])}")

    def _put_back(self) -> list[str]:
        """Undo the fault if still in place and wait for ExpressRoute; what failed."""
        if self.injection.active:
            self._keep_during()
        try:
            return self.injection.put_back()
        finally:
            self.save()

    def _collect_evidence(self) -> None:
        """Stop the probes and measure; the paths after, the target's log and API calls."""
        with contextlib.suppress(Exception):  # what was gathered so far is saved below
            if self.probing.started:
                self._stop_probes()
        rescued = self.injection.rescued_paths
        if rescued is not None:
            self.record.paths["after"] = paths_at(rescued)
        elif self.injection.fault is not None:
            self.snapshot("after")
            with contextlib.suppress(Exception):  # a path that cannot be read is left out
                self.record.paths["after"] = paths_at(self.target.paths())
        if self.injection.fault is not None:
            self.record.ground_truth = self.ground_truth()
        with contextlib.suppress(Exception):  # the API log is evidence, never a failure
            self.record.api_calls = self.target.api_calls()

    def _report(self, report: Callable[[], None] | None) -> None:
        """Run `report` in phase `report`, then `done`; failing there, the drill is aborted."""
        aborted = self.record.verdict == "aborted"
        try:
            if not aborted:
                self._pause(Phase.REPORT)
            if report is not None:
                report()
            if not aborted:
                self.enter(Phase.DONE)
        except BaseException as exc:
            report_failed(self.record, exc)
            self.save()
            raise

    def interrupted_message(self, exc: BaseException | None = None) -> str:
        """`interrupted by SIGTERM in phase on-vpn` (the fault is undone by close)."""
        what = str(exc).removeprefix("signal ") if exc is not None and str(exc) else "SIGINT"
        return f"interrupted by {what} in phase {self.record.phase}"
