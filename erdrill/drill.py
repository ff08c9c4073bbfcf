"""The drill: phases of the documented test plan, timed by probes, undone whatever happens.

A `Drill` is usable without pytest: the Gherkin steps only call its methods.
Phases: setup -> steady-state -> probing -> failover -> on-vpn -> restore -> failback
-> report -> done. Every phase change is written to the drill record at once, so an
interrupted or failed drill still leaves everything it measured; an aborted drill's
record keeps the phase it was aborted in.

Test hook: with ERDRILL_PAUSE_AT_PHASE=<phase> the drill sleeps once, for
ERDRILL_PAUSE_S seconds (default 120), when that phase is under way (failover: right
after the fault is injected; every other phase: right after entering it) and marks the
pause with a file `paused` beside drill.json, so a test can signal it deterministically.
Never set it for a real drill.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from erdrill import journal
from erdrill.errors import ErdrillError
from erdrill.exitcodes import ExitCode
from erdrill.paths import ON_EXPRESSROUTE, ON_VPN, PathKind, PathPair
from erdrill.record import DrillRecord, PathsAt, TransitionFigures, save
from erdrill.routes import RouteTable
from probes.measure import measure_transition
from probes.prober import Prober
from probes.samples import Sample
from targets.base import Health, ProbeTarget

DRILLS_DIR = Path("reports/drills")

LIMIT_EXCEEDED_PREFIX = "limit exceeded:"
NO_FAILOVER_PREFIX = "did not fail over:"


class DrillTarget(Protocol):
    """What the drill needs from a target (see targets.base.Target)."""

    name: str
    default_fault: str
    path_poll_interval_s: float

    def describe(self) -> dict[str, str]: ...
    def ensure_ready(self) -> None: ...
    def health(self) -> Health: ...
    def paths(self) -> PathPair: ...
    def route_tables(self) -> list[RouteTable]: ...
    def learned_prefixes(self) -> dict[str, dict[str, list[str]]]: ...
    def moves_to_vpn(self, kind: str) -> bool: ...
    def inject(self, kind: str) -> None: ...
    def undo(self, kind: str) -> None: ...
    def undo_description(self, kind: str) -> dict[str, str]: ...
    def probe_targets(self) -> list[ProbeTarget]: ...
    def probe_namespace(self) -> str | None: ...
    def allowed_networks(self) -> list[str] | None: ...
    def ground_truth(self, since: float) -> list[dict[str, Any]]: ...
    def secrets(self) -> list[str]: ...


class SteadyStateViolation(AssertionError):
    """The network is not in its steady state (asymmetric routing, a session down, ...)."""


class LimitExceeded(AssertionError):
    """A measured figure broke the operator's limit."""


class NoFailover(AssertionError):
    """Traffic did not move to the expected path in time."""


class RestoreFailed(ErdrillError):
    """The fault was undone but ExpressRoute did not carry traffic again."""

    exit_code = int(ExitCode.NOT_RESTORED)


PAUSE_ENV = "ERDRILL_PAUSE_AT_PHASE"  # test hook, see the module docstring
PAUSE_S_ENV = "ERDRILL_PAUSE_S"
_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT, SIGTERM and SIGHUP while the network is put back; yield those that came.

    An undo cut in half by a second Ctrl-C is how a drill leaves a network broken, so
    the caller acts on the held signals once the undo is complete. Outside the main
    thread (where handlers cannot be set) nothing is held.
    """
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    pid = os.getpid()

    def hold(signum: int, _frame: Any) -> None:
        if os.getpid() != pid:  # a forked helper dies quietly
            os._exit(128 + signum)
        pending.append(signum)

    previous = {s: signal.signal(s, hold) for s in _SIGNALS}
    try:
        yield pending
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def _iso(t: float | None = None) -> str:
    return datetime.fromtimestamp(t if t is not None else time.time(), UTC).isoformat(
        timespec="milliseconds"
    )


@dataclass
class DrillSettings:
    rate: int = 200  # probes/s per target and protocol
    late_ms: float = 500.0
    sustain_s: float = 2.0  # replies must stay uninterrupted this long to count as recovered
    abort_limit_s: float = 60.0  # give up on failover and restore at once after this
    restore_timeout_s: float = 60.0
    limits_ms: dict[str, float] = field(default_factory=dict)


class PathWatcher:
    """Polls the target's path in each direction and keeps every transition, timestamped."""

    def __init__(self, target: DrillTarget) -> None:
        self.target = target
        self.history: list[tuple[float, PathPair]] = []
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="path-watcher", daemon=True)

    def start(self) -> PathWatcher:
        self._record(self.target.paths())
        self._thread.start()
        return self

    def _record(self, paths: PathPair) -> None:
        with self._changed:
            if not self.history or self.history[-1][1] != paths:
                self.history.append((time.time(), paths))
                self._changed.notify_all()

    def _run(self) -> None:
        while not self._stop.wait(self.target.path_poll_interval_s):
            with contextlib.suppress(Exception):  # a failed poll is a missing point, not a crash
                self._record(self.target.paths())

    @property
    def current(self) -> PathPair:
        return self.history[-1][1]

    def wait_for(self, expected: PathPair, timeout: float) -> float | None:
        """Wall time the expected paths were first seen (now or later), or None on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if self.history and self.history[-1][1] == expected:
                    return self.history[-1][0]
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(min(left, 0.5))

    def spans(self, until: float) -> list[tuple[float, float, str]]:
        """(start, end, path) spans for the timeline; mixed directions show as 'asymmetric'."""
        out = []
        for i, (t, p) in enumerate(self.history):
            end = self.history[i + 1][0] if i + 1 < len(self.history) else until
            label = p.forward.value if p.symmetric else "asymmetric"
            out.append((t, end, label))
        return out

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)


def target_key(target: DrillTarget) -> str:
    d = target.describe()
    return f"{target.name}-{d.get('lab prefix') or d.get('circuit') or 'default'}"


class Drill:
    """One failover drill against one target, from steady state to failback."""

    def __init__(
        self,
        target: DrillTarget,
        settings: DrillSettings | None = None,
        *,
        scenario: str = "",
        drills_dir: Path = DRILLS_DIR,
        run_id: str | None = None,
        state_dir: Path | None = None,
        lock_held: bool = False,
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
        self.fault: str | None = None
        self.fault_active = False
        self.fault_at: float | None = None
        self.restore_at: float | None = None
        self.switched_at: float | None = None
        self.back_at: float | None = None
        self.prober: Prober | None = None
        self.watcher: PathWatcher | None = None
        self.samples: list[Sample] = []
        self.route_snapshots: dict[str, list[RouteTable]] = {}
        self._lock: journal.DrillLock | None = None
        self._lock_held = lock_held  # the caller (a drill session) already holds the lock
        self._closed = False
        # called with one status line during long waits ("" clears it); None shows nothing
        self.progress: Callable[[str], None] | None = None
        self._paused: set[str] = set()

    # ---- record keeping --------------------------------------------------------------

    @property
    def path(self) -> Path:
        return self.drills_dir / self.run_id / "drill.json"

    @property
    def run_dir(self) -> Path:
        return self.drills_dir / self.run_id

    def enter(self, phase: str) -> None:
        """Move to a phase and write the record at once."""
        self.record.phase = phase
        self.save()
        if phase not in ("failover", "probing"):  # those pause once under way
            self.pause_for_test(phase)

    def pause_for_test(self, phase: str) -> None:
        """The ERDRILL_PAUSE_AT_PHASE test hook: sleep once in `phase` (see the docstring)."""
        if os.environ.get(PAUSE_ENV) != phase or phase in self._paused:
            return
        self._paused.add(phase)
        marker = self.run_dir / "paused"
        marker.write_text(phase + "\n")
        try:
            time.sleep(float(os.environ.get(PAUSE_S_ENV, "120")))
        finally:
            marker.unlink(missing_ok=True)

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
        self.enter("setup")
        self.target.ensure_ready()

    def steady_state(self) -> Health:
        """Check the steady state; asymmetric routing and a winning VPN are findings."""
        self.enter("steady-state")
        health = self.target.health()
        self.record.paths["before"] = _paths_at(health.paths)
        problems = steady_state_problems(health, self.target.learned_prefixes())
        if problems:
            self.record.findings.extend(problems)
            self.save()
            raise SteadyStateViolation("steady state violated: " + "; ".join(problems))
        return health

    def start_probes(self) -> None:
        self.enter("probing")
        self.watcher = PathWatcher(self.target).start()
        self.prober = Prober(
            self.target.probe_targets(),
            rate=self.settings.rate,
            namespace=self.target.probe_namespace(),
            late_ms=self.settings.late_ms,
            allowed_networks=self.target.allowed_networks(),
        )
        self.prober.start()
        self.pause_for_test("probing")
        self.snapshot("before")
        time.sleep(max(self.settings.sustain_s / 2, 0.5))  # a baseline before the fault

    def inject(self, fault: str | None = None) -> None:
        """Journal the fault durably, then inject it."""
        kind = fault or self.target.default_fault
        self.fault = kind
        self.record.fault = kind
        self.enter("failover")
        journal.open_entry(
            self.key, self.run_id, kind, self.target.undo_description(kind), self.state_dir
        )
        self.fault_active = True
        self.fault_at = time.time()
        self.record.events.append({"kind": "fault", "wall": self.fault_at, "detail": kind})
        self.save()
        self.target.inject(kind)
        self.pause_for_test("failover")

    def await_paths(self, expected: PathPair, within_s: float, transition: str) -> float:
        """Wait until both directions use `expected`; seconds from the event. Aborts early."""
        assert self.watcher is not None
        event = self.fault_at if transition == "failover" else self.restore_at
        assert event is not None
        limit = min(within_s, self.settings.abort_limit_s) if transition == "failover" else within_s
        deadline = event + limit
        seen = None
        while seen is None and time.time() < deadline:
            seen = self.watcher.wait_for(expected, min(0.5, max(deadline - time.time(), 0.0)))
            self._show(f"{transition}: waiting for {expected}, now {self.watcher.current}")
        self._show("")
        if seen is None:
            now = self.watcher.current
            msg = (
                f"{NO_FAILOVER_PREFIX} {transition}: traffic still {now} "
                f"{time.time() - event:.1f} s after the {transition} began, expected {expected}"
            )
            self.record.findings.append(msg)
            if transition == "failover":
                # Abort guard: never leave the fault in place longer than the abort limit.
                self.record.findings.append(
                    f"abort guard: restored ExpressRoute at once, {limit:g} s after the fault "
                    f"(scenario allows {within_s:g} s, abort limit {self.settings.abort_limit_s:g} s)"
                )
                self.restore()
            raise NoFailover(msg)
        seen = max(seen, event)
        if transition == "failover":
            self.switched_at = seen
            self.enter("on-vpn" if expected == ON_VPN else "on-expressroute")
        else:
            self.back_at = seen
        return seen - event

    def hold(self, seconds: float | None = None) -> list[Sample]:
        """Keep probing; return samples of the period (to check the path carries traffic)."""
        start = time.time()
        self._sleep(seconds if seconds is not None else self.settings.sustain_s, "holding")
        assert self.prober is not None
        return self.prober.samples_since(start)

    def restore(self) -> None:
        """Undo the fault (journal cleared only once undone)."""
        if not self.fault_active or self.fault is None:
            return
        self.snapshot("during")
        if self.watcher:
            self.record.paths["during"] = _paths_at(self.watcher.current)
        self.enter("restore")
        with signals_deferred() as held:  # an undo is never cut in half
            self._undo()
        if held:
            raise KeyboardInterrupt(f"signal {_signal_name(held[0])}")
        self.enter("failback")

    def _undo(self) -> None:
        """Undo the fault, then clear its journal entry (only once the undo returned)."""
        assert self.fault is not None
        self.restore_at = time.time()
        self.record.events.append(
            {"kind": "restore", "wall": self.restore_at, "detail": self.fault}
        )
        self.target.undo(self.fault)
        self.fault_active = False
        journal.close_entry(self.key, self.fault, self.state_dir)
        self.save()

    def finish_probes(self) -> None:
        """Let recovery be sustained, then stop the probes and measure both transitions."""
        if self.prober is None:
            return
        self._sleep(self.settings.sustain_s, "recovery must be sustained")
        self._stop_probes()

    def _sleep(self, seconds: float, what: str) -> None:
        """Sleep while showing the probes' progress."""
        end = time.time() + seconds
        while (left := end - time.time()) > 0:
            time.sleep(min(left, 0.5))
            self._show(f"{what}: {max(end - time.time(), 0):.1f} s left")
        self._show("")

    def _show(self, what: str) -> None:
        """One updating progress line (rate, replies, current gap) for long waits."""
        if self.progress is None:
            return
        if not what:
            self.progress("")
            return
        line = what
        if self.prober is not None:
            with contextlib.suppress(Exception):
                line = f"{what} | {self.prober.snapshot().line()}"
        self.progress(line)

    def _stop_probes(self) -> None:
        if self.prober is not None:
            with contextlib.suppress(Exception):
                self.samples = self.prober.stop()
            self.prober = None
        if self.watcher is not None:
            self.watcher.stop()
        self.measure()

    def measure(self) -> None:
        """Fill failover and failback figures from the samples (as far as they go)."""
        rate = float(self.settings.rate)
        sustain = self.settings.sustain_s
        if self.samples and self.fault_at is not None:
            with contextlib.suppress(ValueError):
                fo = measure_transition(
                    self.samples,
                    self.fault_at,
                    rate_per_flow=rate,
                    sustain_s=sustain,
                    window_end=self.restore_at,
                )
                self.record.failover = TransitionFigures.model_validate(fo.as_figures())
        if self.samples and self.restore_at is not None:
            with contextlib.suppress(ValueError):
                fb = measure_transition(
                    self.samples, self.restore_at, rate_per_flow=rate, sustain_s=sustain
                )
                self.record.failback = TransitionFigures.model_validate(fb.as_figures())
        self.save()

    def measure_now(self) -> None:
        """Measure the failover while probes still run, once recovery had time to be sustained."""
        if self.prober is None or self.fault_at is None:
            return
        if self.switched_at is not None:
            ready = self.switched_at + self.settings.sustain_s + self.settings.late_ms / 1000.0
            time.sleep(max(0.0, ready - time.time()))
        self.samples = self.prober.samples_since(0.0)
        self.measure()

    def check_ground_truth(self) -> dict[str, Any]:
        """The measured failover must agree with the target's own log of route changes.

        Agreement: the outage lies between the first and the last route change the log
        shows after the fault (the route-install spread), give or take two sampling
        intervals; with no route change, the outage is at most two sampling intervals.
        """
        self.measure_now()
        truth = self.ground_truth()
        fo = self.record.failover
        if truth is None or fo is None or fo.outage_ms is None:
            raise AssertionError("no ground truth or no failover measurement to compare")
        self.record.ground_truth = truth
        slack = 2 * (self.record.sampling_interval_ms or 0.0)
        changes = list(truth["failover_route_change_ms"].values())
        lo, hi = (min(changes), max(changes)) if changes else (0.0, 0.0)
        # the fault took `injection_ms` to apply: the outage may start that much later
        lo -= truth.get("fault_injection_ms") or 0.0
        truth["tolerance_ms"] = {"low": lo - slack, "high": hi + slack}
        self.save()
        if not lo - slack <= fo.outage_ms <= hi + slack:
            raise AssertionError(
                f"measured failover outage {fo.outage_ms:.0f} ms disagrees with the lab's event "
                f"log: the fault and its route changes bound it to {lo:.0f}-{hi:.0f} ms (allowed "
                f"{lo - slack:.0f}-{hi + slack:.0f} ms with two sampling intervals)"
            )
        return truth

    def snapshot(self, phase: str) -> None:
        """Keep the classified route tables of both sides for this phase."""
        with contextlib.suppress(Exception):
            tables = self.target.route_tables()
            self.route_snapshots[phase] = tables
            self.record.route_snapshots[phase] = [t.to_dict() for t in tables]
            self.save()

    def check_limit(self, transition: str, figure: str, limit_ms: float) -> float:
        """Fail with `limit exceeded: ...` saying by how much, if the figure is over."""
        figures = getattr(self.record, transition)
        if figures is None:
            raise NoFailover(f"{NO_FAILOVER_PREFIX} no {transition} was measured")
        value = getattr(figures, figure)
        self.record.limits[f"{transition}_{figure}"] = limit_ms
        self.save()
        if value is None:
            raise NoFailover(
                f"{NO_FAILOVER_PREFIX} {transition} {figure} could not be measured "
                "(traffic never recovered)"
            )
        if value > limit_ms:
            raise LimitExceeded(
                f"{LIMIT_EXCEEDED_PREFIX} {transition} {figure.removesuffix('_ms').replace('_', ' ')} "
                f"{value:.0f} ms > limit {limit_ms:.0f} ms ({value - limit_ms:.0f} ms over)"
            )
        return float(value)

    # ---- the safety net --------------------------------------------------------------

    def close(
        self,
        verdict: str,
        message: str = "",
        category: str | None = None,
        report: Callable[[], None] | None = None,
    ) -> None:
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
        with signals_deferred() as held:
            self._put_back(left_broken)
            with contextlib.suppress(Exception):
                if self.prober is not None or (self.watcher and self.watcher.history):
                    self._stop_probes()
            if self.fault is not None:
                self.snapshot("after")
                with contextlib.suppress(Exception):
                    self.record.paths["after"] = _paths_at(self.target.paths())
                self.record.ground_truth = self.ground_truth()
            if held and verdict != "aborted":
                had = f"{verdict}: {message}" if message else verdict
                message = (
                    f"interrupted by {_signal_name(held[0])} while closing (the drill had {had})"
                )
                verdict, category = "aborted", "interrupted"
            self.record.verdict = verdict  # type: ignore[assignment]
            self.record.message = message
            self.record.failure_category = category
            if left_broken:
                self.record.findings.extend(left_broken)
                self.record.verdict = "aborted" if verdict == "aborted" else "failed"
                self.record.failure_category = "not-restored"
            self.record.finished_at = _iso()
            self.record.phase = aborted_in if self.record.verdict == "aborted" else "report"
            self.save()
        try:
            if self.record.verdict != "aborted":
                self.pause_for_test("report")
            if report is not None:
                report()
            if self.record.verdict != "aborted":
                self.enter("done")
        except BaseException as exc:
            how = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
            self.record.message = (
                f"{how} while writing the report ({exc or type(exc).__name__}); "
                f"the drill had {self.record.verdict}"
                + (f": {self.record.message}" if self.record.message else "")
            )
            self.record.verdict = "aborted"
            self.record.failure_category = (
                "interrupted" if how == "interrupted" else "harness-error"
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
            raise KeyboardInterrupt(f"signal {_signal_name(held[0])}")

    def _put_back(self, left_broken: list[str]) -> None:
        """Undo the fault if still in place and wait for ExpressRoute; collect what failed."""
        if self.fault_active and self.fault is not None:
            self.snapshot("during")
            if self.watcher:
                self.record.paths["during"] = _paths_at(self.watcher.current)
            try:
                self._undo()
            except Exception as exc:
                left_broken.append(f"undo of {self.fault} failed: {exc}")
        if self.fault is not None and not left_broken:
            try:
                self._wait_expressroute()
            except Exception as exc:
                left_broken.append(str(exc))

    def _wait_expressroute(self) -> None:
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

    def ground_truth(self) -> dict[str, Any] | None:
        """What the target's own log says happened (the lab's event log), summarised."""
        since = datetime.fromisoformat(self.record.started_at).timestamp()
        try:
            log = self.target.ground_truth(since)
        except Exception:
            return None
        if not log:
            return None
        return summarize_ground_truth(log, self.fault_at, self.restore_at)

    # ---- as a context manager ----------------------------------------------------------

    @contextlib.contextmanager
    def running(self) -> Iterator[Drill]:
        """`with drill.running():` closes with the right verdict whatever happens inside."""
        try:
            yield self
        except (LimitExceeded, NoFailover, SteadyStateViolation) as exc:
            self.close("failed", str(exc), _category(exc))
            raise
        except KeyboardInterrupt as exc:
            self.close("aborted", self.interrupted_message(exc), "interrupted")
            raise
        except BaseException as exc:
            self.close("aborted", f"{type(exc).__name__}: {exc}", "harness-error")
            raise
        else:
            self.close("passed")

    def interrupted_message(self, exc: BaseException | None = None) -> str:
        """`interrupted by SIGTERM in phase on-vpn` (the fault is undone by close)."""
        what = str(exc).removeprefix("signal ") if exc is not None and str(exc) else "SIGINT"
        return f"interrupted by {what} in phase {self.record.phase}"


def _category(exc: BaseException) -> str:
    if isinstance(exc, LimitExceeded):
        return "limit-exceeded"
    if isinstance(exc, NoFailover | SteadyStateViolation):
        return "no-failover"
    return "harness-error"


def _paths_at(p: PathPair) -> PathsAt:
    return PathsAt(forward=p.forward.value, **{"return": p.return_.value})


def steady_state_problems(health: Health, learned: dict[str, dict[str, list[str]]]) -> list[str]:
    """Why the network is not in its steady state, in an engineer's words (empty if it is)."""
    problems = [
        f"BGP session {name} is {state}"
        for name, state in health.bgp.items()
        if state != "established"
    ]
    if health.tunnel != "up":
        problems.append("the IPsec tunnel is down")
    p = health.paths
    if not p.symmetric:
        for direction, label, kind in (
            ("forward", "on-premises to Azure", p.forward),
            ("return", "Azure to on-premises", p.return_),
        ):
            if kind is not PathKind.EXPRESSROUTE:
                problems.append(
                    f"asymmetric routing: the {direction} direction ({label}) uses "
                    f"{kind.value} while the other uses expressroute"
                )
    elif p.forward is not PathKind.EXPRESSROUTE:
        problems.append(f"both directions use {p.forward.value}, not ExpressRoute")
    for side, paths in learned.items():
        er, vpn = set(paths.get("expressroute", [])), set(paths.get("vpn", []))
        if vpn - er:
            problems.append(
                f"{side} side: the VPN carries prefixes ExpressRoute does not "
                f"({', '.join(sorted(vpn - er))}): more-specific prefixes over the VPN "
                "win permanently"
            )
        if er - vpn:
            problems.append(
                f"{side} side: prefixes known only over ExpressRoute "
                f"({', '.join(sorted(er - vpn))}) have no VPN backup"
            )
    return problems


def summarize_ground_truth(
    log: list[dict[str, Any]], fault_at: float | None, restore_at: float | None
) -> dict[str, Any]:
    """First route change to each path on each side after the fault and after the restore."""
    routes = [e for e in log if e.get("kind") == "route"]

    def first(after: float | None, until: float | None, path: str) -> dict[str, float]:
        out: dict[str, float] = {}
        if after is None:
            return out
        for e in routes:
            if (
                e["wall"] >= after
                and (until is None or e["wall"] < until)
                and e.get("path") == path
                and e.get("action") == "add"
            ):
                out.setdefault(str(e.get("node")), (e["wall"] - after) * 1000.0)
        return out

    fault_event = next((e for e in log if e.get("kind") == "fault"), None)
    fault_log = fault_event["wall"] if fault_event else None
    injection_ms = (
        (fault_event.get("done_wall", fault_event["wall"]) - fault_event["wall"]) * 1000.0
        if fault_event
        else None
    )
    restore_log = next((e["wall"] for e in log if e.get("kind") == "restore"), None)
    fo = first(fault_log or fault_at, restore_log or restore_at, "vpn")
    fb = first(restore_log or restore_at, None, "expressroute")
    return {
        "source": "lab event log",
        "fault_at": fault_log,
        "fault_injection_ms": injection_ms,
        "restore_at": restore_log,
        "failover_route_change_ms": fo,
        "failover_converged_ms": max(fo.values()) if fo else None,
        "failback_route_change_ms": fb,
        "failback_converged_ms": max(fb.values()) if fb else None,
        "events": log,
    }
