"""Convergence figures from probe samples, in RFC 6412 terms measured the RFC 6413 way.

The RFC 6412/6413 terms used here, paraphrased (the RFCs define them for IGP benchmarks;
here a *flow* is one target/protocol probe stream and the offered rate is per flow):

- Convergence Event Instant: when the event (fault, or restore for reversion) happens.
- Convergence Packet Loss: packets not delivered during convergence. A reply after the
  Forwarding Delay Threshold counts as lost, so LATE (and UNREACHABLE) count here.
- Loss-Derived Convergence Time = Convergence Packet Loss / Offered Rate.
- Route-Specific Convergence Time: the loss-derived time of one route (here: one flow);
  report the minimum and the maximum across them (`Convergence.route_specific`: across
  every flow, per protocol and per destination; one flow's group is its own figure).
- First Route Convergence Time: event instant to the first packet forwarded again.
- Convergence Recovery Instant: the forwarding rate is back at the offered rate; it
  counts only if it holds for the Sustained Convergence Validation Time (`sustain_s`).
  Rate-Derived Convergence Time = Recovery Instant - Event Instant.
- Packet Sampling Interval (1 / offered rate) bounds the accuracy of every figure.

Every instant is a send stamp: the path carried a probe sent at `sent`. Receive stamps
would add the round-trip time, which differs between ExpressRoute and the VPN.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from erdrill.probes.samples import Outcome, Sample

__all__ = [
    "Convergence",
    "FlowConvergence",
    "FlowSummary",
    "SteadyState",
    "measure_transition",
    "summarize",
]


@dataclass(frozen=True, slots=True)
class FlowConvergence:
    """The convergence of one flow (target/protocol).

    Counts cover probes sent in the window [event_at, window_end]. `lost` counts LOST
    only; `convergence_loss` = lost + late + unreachable (every probe not answered in
    time) and drives `loss_derived_ms`.

    A loss *burst* is a run of unanswered probes (by seq). An *episode* is one or more
    bursts joined by replies that did not last `sustain_s`: a lone reply inside a burst
    does not end it. `outage_ms` is the longest episode after the event, from the send
    stamp of the last reply before it to that of the first reply after it, so the true
    outage lies between `outage_ms` - 2 sampling intervals and `outage_ms`. If the flow
    started in loss (`loss_at_start`), the outage starts at the first probe sent; if
    no reply followed (`outage_lower_bound`), it ends at the last probe sent.
    """

    flow: str
    sent: int
    lost: int
    late: int
    unreachable: int
    duplicates: int
    reordered: int  # replies that arrived after a reply to a higher seq
    convergence_loss: int
    loss_derived_ms: float
    outage_ms: float
    outage_lower_bound: bool
    loss_at_start: bool
    first_route_ms: float | None  # 0 without loss; None if no reply followed the loss
    rate_derived_ms: float | None  # 0 without loss; None if not recovered
    recovery_at: float | None  # Convergence Recovery Instant; None without loss
    recovered: bool
    episodes: int
    bursts: int
    precise: bool  # False if any probe used the unprivileged connect() fallback


@dataclass(frozen=True, slots=True)
class Convergence:
    """One transition across all flows; aggregates are computed from `flows`."""

    event_at: float
    rate_per_flow: float
    sustain_s: float
    flows: Mapping[str, FlowConvergence]

    @property
    def sampling_interval_ms(self) -> float:
        return 1000.0 / self.rate_per_flow

    @property
    def loss_derived_ms(self) -> float:
        """The worst flow's loss-derived convergence time."""
        return max(f.loss_derived_ms for f in self.flows.values())

    @property
    def loss_derived_mean_ms(self) -> float:
        return round(sum(f.loss_derived_ms for f in self.flows.values()) / len(self.flows), 3)

    @property
    def route_specific_min_ms(self) -> float:
        return min(f.loss_derived_ms for f in self.flows.values())

    @property
    def route_specific_max_ms(self) -> float:
        return self.loss_derived_ms

    @property
    def outage_ms(self) -> float:
        """The longest outage of any flow."""
        return max(f.outage_ms for f in self.flows.values())

    @property
    def outage_lower_bound(self) -> bool:
        """True if any flow never got a reply after its loss (its outage is open-ended)."""
        return any(f.outage_lower_bound for f in self.flows.values())

    @property
    def loss_at_start(self) -> bool:
        return any(f.loss_at_start for f in self.flows.values())

    @property
    def first_route_ms(self) -> float | None:
        """The first flow to carry traffic again, among flows that lost any; 0 if none did."""
        lossy = [f for f in self.flows.values() if f.episodes]
        if not lossy:
            return 0.0
        times = [f.first_route_ms for f in lossy if f.first_route_ms is not None]
        return min(times) if times else None

    @property
    def recovered(self) -> bool:
        return all(f.recovered for f in self.flows.values())

    @property
    def recovery_at(self) -> float | None:
        """The last flow's recovery instant; None if any flow did not recover or none lost."""
        if not self.recovered:
            return None
        instants = [f.recovery_at for f in self.flows.values() if f.recovery_at is not None]
        return max(instants) if instants else None

    @property
    def rate_derived_ms(self) -> float | None:
        if not self.recovered:
            return None
        at = self.recovery_at
        return 0.0 if at is None else _ms(at - self.event_at)

    @property
    def episodes(self) -> int:
        """The most loss episodes seen by any one flow."""
        return max(f.episodes for f in self.flows.values())

    def _total(self, name: str) -> int:
        return sum(int(getattr(f, name)) for f in self.flows.values())

    def route_specific(self) -> dict[str, dict[str, Any]]:
        """Min and max across flows: ``all``, each protocol, each destination (RouteSpecific)."""
        groups: dict[str, list[FlowConvergence]] = defaultdict(list)
        for name, f in sorted(self.flows.items()):
            target, _, protocol = name.rpartition("/")
            for group in ("all", protocol, target):
                if group:
                    groups[group].append(f)
        return {group: _spread(flows) for group, flows in groups.items()}

    def as_figures(self) -> dict[str, Any]:
        """The TransitionFigures keys (erdrill/record.py) plus the extra figures."""
        return {
            "loss_derived_ms": self.loss_derived_ms,
            "outage_ms": self.outage_ms,
            "first_route_ms": self.first_route_ms,
            "sent": self._total("sent"),
            "lost": self._total("lost"),
            "late": self._total("late"),
            "duplicates": self._total("duplicates"),
            "recovered": self.recovered,
            "per_target": {
                name: {k: v for k, v in asdict(f).items() if k != "flow"}
                for name, f in self.flows.items()
            },
            "unreachable": self._total("unreachable"),
            "reordered": self._total("reordered"),
            "convergence_loss": self._total("convergence_loss"),
            "sampling_interval_ms": self.sampling_interval_ms,
            "loss_derived_mean_ms": self.loss_derived_mean_ms,
            "route_specific_min_ms": self.route_specific_min_ms,
            "route_specific_max_ms": self.route_specific_max_ms,
            "route_specific": self.route_specific(),
            "outage_lower_bound": self.outage_lower_bound,
            "loss_at_start": self.loss_at_start,
            "rate_derived_ms": self.rate_derived_ms,
            "recovery_at": self.recovery_at,
            "episodes": self.episodes,
            "sustain_s": self.sustain_s,
            "precise": all(f.precise for f in self.flows.values()),
        }


def measure_transition(
    samples: Iterable[Sample],
    event_at: float,
    *,
    rate_per_flow: float,
    sustain_s: float = 1.0,
    window_end: float | None = None,
) -> Convergence:
    """Measure one transition (failover, failback or reversion) that began at `event_at`.

    Probes sent before `event_at` are context only (the last reply before the loss);
    probes sent after `window_end` are ignored. Raises ValueError on a bad rate or
    sustain time, or when no probe was sent in the window.
    """
    if not rate_per_flow > 0:
        raise ValueError(f"rate_per_flow must be > 0 packets/s, got {rate_per_flow}")
    if not sustain_s >= 0:
        raise ValueError(f"sustain_s must be >= 0 seconds, got {sustain_s}")
    end = math.inf if window_end is None else window_end
    flows: dict[str, FlowConvergence] = {}
    for name, stream in _by_flow(s for s in samples if s.sent <= end).items():
        if any(s.sent >= event_at for s in stream):
            flows[name] = _measure_flow(name, stream, event_at, 1.0 / rate_per_flow, sustain_s)
    if not flows:
        raise ValueError(
            f"no probe was sent between event_at={event_at} and window_end={window_end}"
        )
    return Convergence(event_at, rate_per_flow, sustain_s, flows)


@dataclass(frozen=True, slots=True)
class FlowSummary:
    """Steady-state figures of one flow; `lost` counts every probe not answered in time."""

    flow: str
    sent: int
    lost: int
    loss_ratio: float
    rtt_p50_ms: float | None  # nearest-rank percentiles over the replies
    rtt_p99_ms: float | None


@dataclass(frozen=True, slots=True)
class SteadyState:
    """Steady traffic across all flows: `lossless` is the "loses nothing" check."""

    flows: Mapping[str, FlowSummary]

    @property
    def sent(self) -> int:
        return sum(f.sent for f in self.flows.values())

    @property
    def lost(self) -> int:
        return sum(f.lost for f in self.flows.values())

    @property
    def loss_ratio(self) -> float:
        return self.lost / self.sent if self.sent else 0.0

    @property
    def lossless(self) -> bool:
        return self.sent > 0 and self.lost == 0


def summarize(samples: Iterable[Sample]) -> SteadyState:
    """Per-flow sent, lost, loss ratio and RTT p50/p99 of steady traffic."""
    flows: dict[str, FlowSummary] = {}
    for name, stream in _by_flow(samples).items():
        rtts = sorted(s.rtt_ms for s in stream if s.answered and s.rtt_ms is not None)
        lost = sum(1 for s in stream if not s.answered)
        flows[name] = FlowSummary(
            flow=name,
            sent=len(stream),
            lost=lost,
            loss_ratio=lost / len(stream),
            rtt_p50_ms=_percentile(rtts, 50),
            rtt_p99_ms=_percentile(rtts, 99),
        )
    return SteadyState(flows)


# -- internals ---------------------------------------------------------------------------


def _spread(flows: Sequence[FlowConvergence]) -> dict[str, Any]:
    fastest = min(flows, key=lambda f: f.loss_derived_ms)
    slowest = max(flows, key=lambda f: f.loss_derived_ms)
    return {
        "flows": len(flows),
        "loss_derived_min_ms": fastest.loss_derived_ms,
        "loss_derived_max_ms": slowest.loss_derived_ms,
        "outage_min_ms": min(f.outage_ms for f in flows),
        "outage_max_ms": max(f.outage_ms for f in flows),
        "fastest": fastest.flow,
        "slowest": slowest.flow,
    }


def _ms(seconds: float) -> float:
    """Seconds to milliseconds, rounded to the microsecond."""
    return round(seconds * 1000.0, 3)


def _by_flow(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    flows: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        flows[s.flow].append(s)
    for stream in flows.values():
        stream.sort(key=lambda s: s.seq)
    return dict(sorted(flows.items()))


def _percentile(values: Sequence[float], p: float) -> float | None:
    if not values:
        return None
    return round(values[max(0, math.ceil(p / 100.0 * len(values)) - 1)], 3)


def _reordered(stream: Sequence[Sample]) -> int:
    """Replies that arrived after a reply to a higher seq (RFC 4737 style)."""
    highest = -1
    count = 0
    arrivals = sorted((s.received, s.seq) for s in stream if s.answered and s.received is not None)
    for _, seq in arrivals:
        if seq < highest:
            count += 1
        highest = max(highest, seq)
    return count


@dataclass(frozen=True, slots=True)
class _Episode:
    start: int  # index of the first unanswered probe
    end: int  # index of the last unanswered probe
    after: int | None  # index of the first reply after `end`
    sustained: bool  # the replies from `after` on lasted sustain_s


def _measure_flow(
    name: str, ss: Sequence[Sample], event_at: float, interval: float, sustain_s: float
) -> FlowConvergence:
    n = len(ss)
    good = [s.outcome is Outcome.REPLY for s in ss]

    def sustained(first: int) -> bool:
        last = first
        while last + 1 < n and good[last + 1]:
            last += 1
        # each reply stands for one sampling interval; half an interval absorbs jitter
        covered = ss[last].sent - ss[first].sent + interval
        return covered >= sustain_s - interval / 2

    bursts: list[tuple[int, int]] = []
    i = 0
    while i < n:
        if good[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and not good[j + 1]:
            j += 1
        if ss[j].sent >= event_at:  # the burst reaches into the window
            bursts.append((i, j))
        i = j + 1

    episodes: list[_Episode] = []
    for start, end in bursts:
        after = end + 1 if end + 1 < n else None
        ok = after is not None and sustained(after)
        if episodes and not episodes[-1].sustained:
            start = episodes.pop().start  # the replies in between did not last
        episodes.append(_Episode(start, end, after, ok))

    outage_s, lower_bound, at_start = 0.0, False, False
    for ep in episodes:
        begin = ss[ep.start - 1].sent if ep.start > 0 else ss[ep.start].sent
        finish = ss[ep.after].sent if ep.after is not None else ss[-1].sent
        if finish - begin > outage_s:
            outage_s, lower_bound, at_start = finish - begin, ep.after is None, ep.start == 0

    first_route_ms: float | None = 0.0
    rate_derived_ms: float | None = 0.0
    recovery_at: float | None = None
    recovered = True
    if bursts:
        first_reply = bursts[0][1] + 1
        first_route_ms = _ms(ss[first_reply].sent - event_at) if first_reply < n else None
        last = episodes[-1]
        recovered = last.sustained
        if last.sustained and last.after is not None:
            recovery_at = ss[last.after].sent
            rate_derived_ms = _ms(recovery_at - event_at)
        else:
            rate_derived_ms = None

    window = [s for s in ss if s.sent >= event_at]
    lost = sum(1 for s in window if s.outcome is Outcome.LOST)
    late = sum(1 for s in window if s.outcome is Outcome.LATE)
    unreachable = sum(1 for s in window if s.outcome is Outcome.UNREACHABLE)
    convergence_loss = lost + late + unreachable
    return FlowConvergence(
        flow=name,
        sent=len(window),
        lost=lost,
        late=late,
        unreachable=unreachable,
        duplicates=sum(s.duplicates for s in window),
        reordered=_reordered(window),
        convergence_loss=convergence_loss,
        loss_derived_ms=_ms(convergence_loss * interval),
        outage_ms=_ms(outage_s),
        outage_lower_bound=lower_bound,
        loss_at_start=at_start,
        first_route_ms=first_route_ms,
        rate_derived_ms=rate_derived_ms,
        recovery_at=recovery_at,
        recovered=recovered,
        episodes=len(episodes),
        bursts=len(bursts),
        precise=all(s.precise for s in window),
    )
