"""When a transition took effect, and whether traffic reached its path within the window.

A fault (or its undo) is requested at one instant and takes effect at another: a slow ARM
write or an operator who acts minutes later must not eat the scenario's window. The
effective instant is the first sign the network changed (a probe lost, the path changed)
or, when nothing showed before the call returned, the instant it returned. Windows and
figures count from the effective instant; the abort limit bounds the fault from the request.
"""

from __future__ import annotations

import time

from erdrill.core.outcomes import NO_FAILOVER_PREFIX, NoFailover, Phase
from erdrill.core.paths import ON_VPN, PathPair
from erdrill.core.record import DrillRecord
from erdrill.core.settings import DrillSettings
from erdrill.drill.watch import PathWatcher
from erdrill.probes.prober import Prober

__all__ = ["Transitions", "effective_instant", "reached_at"]


def effective_instant(
    requested: float,
    returned: float,
    watcher: PathWatcher | None,
    prober: Prober | None,
    *,
    probe_loss: bool,
) -> float:
    """The first observed change after `requested` (a lost probe, a path change), else `returned`."""
    seen = [returned]
    if watcher is not None:
        before = [p for t, p in watcher.history if t < requested]
        baseline = before[-1] if before else None
        seen += [t for t, p in watcher.history if requested <= t <= returned and p != baseline]
    if probe_loss and prober is not None:
        seen += [
            s.sent for s in prober.samples_since(requested) if not s.answered and s.sent <= returned
        ]
    return min(seen)


def reached_at(watcher: PathWatcher, expected: PathPair, event: float) -> float | None:
    """When traffic entered `expected` (not before `event`), if that is where it is now."""
    if not watcher.history or watcher.current != expected:
        return None
    return max(watcher.history[-1][0], event)


class Transitions:
    """The drill's waits for a path; mixed into `Drill`, which holds the state."""

    record: DrillRecord
    settings: DrillSettings
    watcher: PathWatcher | None
    prober: Prober | None
    fault_at: float | None
    fault_requested_at: float | None
    restore_at: float | None
    switched_at: float | None
    back_at: float | None

    def enter(self, phase: Phase) -> None: ...
    def save(self) -> object: ...
    def restore(self) -> None: ...
    def _show(self, what: str) -> None: ...

    def await_paths(self, expected: PathPair, within_s: float, transition: str) -> float:
        """Wait until both directions use `expected`; seconds from the effective event.

        Past the window the scenario fails, but the failover keeps its fault and is waited
        for until the abort limit (from the request; `restore_at_window` stops at the
        window), so the record holds the real figure and by how much the window was missed.
        """
        assert self.watcher is not None
        failover = transition == "failover"
        if failover:
            self._settle_fault_instant()
        event = self.fault_at if failover else self.restore_at
        assert event is not None
        until = event + within_s
        if failover:
            requested = self.fault_requested_at or event
            abort_at = requested + self.settings.abort_limit_s
            until = min(until if self.settings.restore_at_window else abort_at, abort_at)
        seen = self._wait_until_on(expected, event, until, transition)
        self.record.transitions[transition] = {
            "effective": event,
            "window_s": within_s,
            "reached_s": None if seen is None else seen - event,
        }
        if seen is None:
            self._never_reached(expected, within_s, transition, event)
        assert seen is not None
        took = seen - event
        if failover:
            self.switched_at = seen
        else:
            self.back_at = seen
        if took > within_s:
            msg = (
                f"{NO_FAILOVER_PREFIX} {transition}: traffic reached {expected} only {took:.1f} s "
                f"after the {transition} took effect, {took - within_s:.1f} s over the "
                f"{within_s:g} s window"
            )
            self.record.findings.append(msg)
            raise NoFailover(msg)
        if failover:
            self.enter(Phase.ON_VPN if expected == ON_VPN else Phase.ON_EXPRESSROUTE)
        return took

    def _settle_fault_instant(self) -> None:
        """Look again once the fate of every probe sent before the inject returned is known."""
        fault = next((e for e in reversed(self.record.events) if e.get("kind") == "fault"), None)
        if fault is None or "returned" not in fault or self.fault_requested_at is None:
            return
        returned = float(fault["returned"])
        time.sleep(max(0.0, returned + self.settings.late_ms / 1000.0 - time.time()))
        self.fault_at = effective_instant(
            self.fault_requested_at, returned, self.watcher, self.prober, probe_loss=True
        )
        fault["effective"] = self.fault_at
        self.save()

    def _wait_until_on(
        self, expected: PathPair, event: float, until: float, transition: str
    ) -> float | None:
        assert self.watcher is not None
        while (seen := reached_at(self.watcher, expected, event)) is None:
            left = until - time.time()
            if left <= 0:
                break
            self.watcher.wait_for(expected, min(0.5, left))
            self._show(f"{transition}: waiting for {expected}, now {self.watcher.current}")
        self._show("")
        return seen

    def _never_reached(
        self, expected: PathPair, within_s: float, transition: str, event: float
    ) -> None:
        assert self.watcher is not None
        msg = (
            f"{NO_FAILOVER_PREFIX} {transition}: traffic still {self.watcher.current} "
            f"{time.time() - event:.1f} s after the {transition} took effect, expected {expected}"
            f"{self.watcher.read_errors()}"
        )
        self.record.findings.append(msg)
        if transition == "failover":
            # Abort guard: never leave the fault in place longer than the abort limit.
            waited = time.time() - (self.fault_requested_at or event)
            self.record.findings.append(
                f"abort guard: restored ExpressRoute at once, {waited:.0f} s after the fault was "
                f"requested (scenario allows {within_s:g} s, abort limit "
                f"{self.settings.abort_limit_s:g} s)"
            )
            self.restore()
        raise NoFailover(msg)
