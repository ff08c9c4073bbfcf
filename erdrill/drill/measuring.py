"""The drill's figures: failover and failback measured from samples, judged by limits."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from erdrill.core.outcomes import (
    LIMIT_EXCEEDED_PREFIX,
    NO_FAILOVER_PREFIX,
    LimitExceeded,
    NoFailover,
)
from erdrill.core.paths import ON_VPN, PathPair
from erdrill.core.record import DrillRecord, TransitionFigures
from erdrill.core.routes import RouteTable
from erdrill.core.settings import DrillSettings
from erdrill.drill.ground_truth import agreement, summarize_ground_truth
from erdrill.drill.pacing import Pacer
from erdrill.drill.probing import Probing
from erdrill.drill.timeline import Timeline
from erdrill.probes.measure import measure_transition
from erdrill.probes.samples import Sample
from erdrill.targets.target import Target

__all__ = ["Measurement", "limit_failure"]


def limit_failure(
    transition: str, figure: str, value: float | None, limit_ms: float
) -> NoFailover | LimitExceeded | None:
    """What a measured figure says against its limit: nothing, a miss by how much, or no figure."""
    if value is None:
        return NoFailover(
            f"{NO_FAILOVER_PREFIX} {transition} {figure} could not be measured "
            "(traffic never recovered)"
        )
    if value > limit_ms:
        return LimitExceeded(
            f"{LIMIT_EXCEEDED_PREFIX} {transition} {figure.removesuffix('_ms').replace('_', ' ')} "
            f"{value:.0f} ms > limit {limit_ms:.0f} ms ({value - limit_ms:.0f} ms over)"
        )
    return None


@dataclass
class Measurement:
    """Measures the drill's transitions from the probes' samples and the timeline's instants."""

    target: Target
    settings: DrillSettings
    record: DrillRecord
    timeline: Timeline
    probing: Probing
    pacer: Pacer
    save: Callable[[], object]
    route_snapshots: dict[str, list[RouteTable]] = field(default_factory=dict)

    def measure(self) -> None:
        """Fill failover and failback figures from the samples (as far as they go)."""
        samples, t = self.probing.samples, self.timeline
        rate = float(self.settings.rate)
        sustain = self.settings.sustain_s
        if samples and t.fault_at is not None:
            with contextlib.suppress(ValueError):
                fo = measure_transition(
                    samples,
                    t.fault_at,
                    rate_per_flow=rate,
                    sustain_s=sustain,
                    window_end=t.restore_at,
                )
                self.record.failover = TransitionFigures.model_validate(fo.as_figures())
        if samples and t.restore_at is not None:
            with contextlib.suppress(ValueError):
                fb = measure_transition(
                    samples, t.restore_at, rate_per_flow=rate, sustain_s=sustain
                )
                self.record.failback = TransitionFigures.model_validate(fb.as_figures())
        self.save()

    def measure_now(self) -> None:
        """Measure the failover while probes still run, once recovery had time to be sustained."""
        if not self.probing.running or self.timeline.fault_at is None:
            return
        if self.timeline.switched_at is not None:
            late = self.settings.late_ms / 1000.0
            self.pacer.until(self.timeline.switched_at + self.settings.sustain_s + late)
        self.probing.refresh()
        self.measure()

    def check_ground_truth(self) -> dict[str, Any]:
        """The measured failover must agree with the target's own log of route changes."""
        self.measure_now()
        truth = self.ground_truth()
        fo = self.record.failover
        if truth is None or fo is None or fo.outage_ms is None:
            raise AssertionError("no ground truth or no failover measurement to compare")
        self.record.ground_truth = truth
        problem = agreement(truth, fo.outage_ms, self.record.sampling_interval_ms or 0.0)
        self.save()
        if problem:
            raise AssertionError(problem)
        return truth

    def snapshot(self, phase: str) -> None:
        """Keep the classified route tables of both sides for this phase, and each flow's
        path with its link or VPN instance where the target can tell (`flows()`)."""
        with contextlib.suppress(Exception):
            tables = self.target.route_tables()
            self.route_snapshots[phase] = tables
            self.record.route_snapshots[phase] = [t.to_dict() for t in tables]
            self.save()
        flows = getattr(self.target, "flows", None)
        if callable(flows):
            with contextlib.suppress(Exception):
                self.record.flow_paths[phase] = dict(flows())
                self.save()

    def check_limit(self, transition: str, figure: str, limit_ms: float) -> float:
        """Fail with `limit exceeded: ...` saying by how much, if the figure is over."""
        figures = getattr(self.record, transition)
        if figures is None:
            raise NoFailover(f"{NO_FAILOVER_PREFIX} no {transition} was measured")
        value = getattr(figures, figure)
        self.record.limits[f"{transition}_{figure}"] = limit_ms
        self.save()
        failure = limit_failure(transition, figure, value, limit_ms)
        if failure is not None:
            raise failure
        return float(value)

    def check_outage(self, transition: str, limit_ms: float) -> None:
        """Both the outage and the loss-derived figure of a transition are within the limit."""
        if transition == "failover":
            self.measure_now()
        self.check_limit(transition, "outage_ms", limit_ms)
        self.check_limit(transition, "loss_derived_ms", limit_ms)

    def ground_truth(self) -> dict[str, Any] | None:
        """What the target's own log says happened (the lab's event log), summarised."""
        since = datetime.fromisoformat(self.record.started_at).timestamp()
        try:
            log = self.target.ground_truth(since)
        except Exception:
            return None
        if not log:
            return None
        return summarize_ground_truth(log, self.timeline.fault_at, self.timeline.restore_at)

    def hold(self, seconds: float | None = None) -> list[Sample]:
        """Keep probing; return samples of the period (to check the path carries traffic)."""
        start = time.time()
        self.pacer.wait(seconds if seconds is not None else self.settings.sustain_s, "holding")
        assert self.probing.running
        return self.probing.samples_since(start)

    def check_holds(self, expected: PathPair, seconds: float) -> None:
        """Traffic is answered over `expected` for `seconds`, and never leaves it meanwhile."""
        answered = [s for s in self.hold(seconds) if s.answered]
        where = "the VPN" if expected == ON_VPN else "ExpressRoute"
        if not answered:
            raise NoFailover(
                f"{NO_FAILOVER_PREFIX} no probe was answered over {where} in {seconds:g} s"
            )
        now = self.probing.current
        if now != expected:
            raise NoFailover(f"{NO_FAILOVER_PREFIX} traffic left {where} while on it ({now})")
