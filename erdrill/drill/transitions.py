"""When a transition took effect, and whether traffic reached its path within the window.

A fault (or its undo) is requested at one instant and takes effect at another: a slow ARM
write or an operator who acts minutes later must not eat the scenario's window. The
effective instant is the first sign the network changed (a probe lost, a reply over the
other path, the path read changed) or, when nothing showed before the call returned, the
instant it returned (drill.dating); the record's event says which (`effective_by`). Windows
and figures count from the effective instant; the abort limit bounds the fault from the request.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from erdrill.core.outcomes import (
    LIMIT_EXCEEDED_PREFIX,
    NO_FAILOVER_PREFIX,
    LimitExceeded,
    NoFailover,
)
from erdrill.core.paths import PathPair
from erdrill.core.record import DrillRecord
from erdrill.core.settings import DrillSettings
from erdrill.drill.dating import Dated, date_change
from erdrill.drill.pacing import Pacer
from erdrill.drill.probing import Probing
from erdrill.drill.timeline import Timeline
from erdrill.drill.watch import PathWatcher

__all__ = ["Transitions", "late_arrival", "reached_at"]


# how far before a request the probes' replies set each flow's path (drill.dating)
BASELINE_S = 5.0


def late_arrival(
    transition: str, expected: PathPair, took_s: float, within_s: float
) -> LimitExceeded | None:
    """Traffic reached its path, but after the window: a figure over its limit, not "no failover"
    (that is for traffic that never got there by the abort limit)."""
    if took_s <= within_s:
        return None
    return LimitExceeded(
        f"{LIMIT_EXCEEDED_PREFIX} {transition} took {took_s:.1f} s > window {within_s:g} s "
        f"({took_s - within_s:.1f} s over): traffic reached {expected} only {took_s:.1f} s "
        f"after the {transition} took effect"
    )


def reached_at(watcher: PathWatcher, expected: PathPair, event: float) -> float | None:
    """When traffic entered `expected` (not before `event`), if that is where it is now."""
    if not watcher.history or watcher.current != expected:
        return None
    return max(watcher.history[-1][0], event)


@dataclass
class Transitions:
    """Dates the fault and the restore, and waits for traffic to reach its path."""

    record: DrillRecord
    settings: DrillSettings
    timeline: Timeline
    probing: Probing
    pacer: Pacer
    save: Callable[[], object]

    # ---- the instants ----------------------------------------------------------------

    def requested(self, kind: str, detail: str) -> float:
        """Stamp a fault or restore as requested, as an event in the record."""
        now = time.time()
        if kind == "fault":
            self.timeline.fault_requested = self.timeline.fault_at = now
        else:
            self.timeline.restore_requested = self.timeline.restore_at = now
        self.record.events.append({"kind": kind, "wall": now, "detail": detail})
        return now

    def took_effect(self, requested: float | None, *, probe_loss: bool) -> float:
        """The effective instant of what was just requested; written beside the request."""
        returned = time.time()
        if requested is None:
            return returned
        dated = self._dated(requested, returned, probe_loss=probe_loss)
        event = self.record.events[-1]
        event.update(returned=returned, effective=dated.at, effective_by=dated.by.value)
        self.save()
        return dated.at

    def settle_fault_instant(self) -> None:
        """Look again once the fate of every probe sent before the inject returned is known."""
        fault = _last_event(self.record, "fault")
        requested = self.timeline.fault_requested
        if fault is None or "returned" not in fault or requested is None:
            return
        returned = float(fault["returned"])
        self.pacer.until(returned + self.settings.late_ms / 1000.0)
        dated = self._dated(requested, returned, probe_loss=True)
        self.timeline.fault_at = dated.at
        fault.update(effective=dated.at, effective_by=dated.by.value)
        self.save()

    def _dated(self, requested: float, returned: float, *, probe_loss: bool) -> Dated:
        watcher = self.probing.watcher
        return date_change(
            requested,
            returned,
            list(watcher.history) if watcher is not None else [],
            self.probing.samples_since(requested - BASELINE_S),
            self.probing.signatures,
            probe_loss=probe_loss,
        )

    # ---- the waits -------------------------------------------------------------------

    def await_paths(
        self, expected: PathPair, within_s: float, transition: str, abort: Callable[[], None]
    ) -> float:
        """Wait until both directions use `expected`; seconds from the effective event.

        Past the window the scenario fails, but the failover keeps its fault and is waited
        for until the abort limit (from the request; `restore_at_window` stops at the
        window), so the record holds the real figure and by how much the window was missed
        (LimitExceeded). Traffic not there by then: `abort` (the abort guard) and NoFailover.
        """
        assert self.probing.watcher is not None
        failover = transition == "failover"
        if failover:
            self.settle_fault_instant()
        t = self.timeline
        event = t.fault_at if failover else t.restore_at
        assert event is not None
        until = event + within_s
        if failover:
            abort_at = (t.fault_requested or event) + self.settings.abort_limit_s
            until = min(until if self.settings.restore_at_window else abort_at, abort_at)
        seen = self._wait_until_on(expected, event, until, transition)
        self.record.transitions[transition] = {
            "effective": event,
            "effective_by": _last_event(
                self.record, "fault" if failover else "restore", "effective_by"
            ),
            "window_s": within_s,
            "reached_s": None if seen is None else seen - event,
        }
        if seen is None:
            self._never_reached(expected, within_s, transition, event, abort)
        assert seen is not None
        took = seen - event
        if failover:
            t.switched_at = seen
        else:
            t.back_at = seen
        late = late_arrival(transition, expected, took, within_s)
        if late is not None:
            self.record.findings.append(str(late))
            raise late
        return took

    def _wait_until_on(
        self, expected: PathPair, event: float, until: float, transition: str
    ) -> float | None:
        watcher = self.probing.watcher
        assert watcher is not None
        while (seen := reached_at(watcher, expected, event)) is None:
            left = until - time.time()
            if left <= 0:
                break
            watcher.wait_for(expected, min(0.5, left))
            self.pacer.show(f"{transition}: waiting for {expected}, now {watcher.current}")
        self.pacer.show("")
        return seen

    def _never_reached(
        self,
        expected: PathPair,
        within_s: float,
        transition: str,
        event: float,
        abort: Callable[[], None],
    ) -> None:
        watcher = self.probing.watcher
        assert watcher is not None
        msg = (
            f"{NO_FAILOVER_PREFIX} {transition}: traffic still {watcher.current} "
            f"{time.time() - event:.1f} s after the {transition} took effect, expected {expected}"
            f"{watcher.read_errors()}"
        )
        self.record.findings.append(msg)
        if transition == "failover":
            # Abort guard: never leave the fault in place longer than the abort limit.
            waited = time.time() - (self.timeline.fault_requested or event)
            self.record.findings.append(
                f"abort guard: restored ExpressRoute at once, {waited:.0f} s after the fault was "
                f"requested (scenario allows {within_s:g} s, abort limit "
                f"{self.settings.abort_limit_s:g} s)"
            )
            abort()
        raise NoFailover(msg)


def _last_event(record: DrillRecord, kind: str, field: str = "") -> Any:
    """The last event of `kind` (or its `field`), None if there is none."""
    event = next((e for e in reversed(record.events) if e.get("kind") == kind), None)
    return event.get(field) if field and event is not None else event
