"""Transition windows of a drill: one per fault (failover) and restore (failback),
each with the longest outage any flow saw after its event and when the path changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from erdrill.probes.samples import Sample

__all__ = [
    "Transition",
    "path_change",
    "transitions",
]

_TRANSITION_OF = {"fault": "failover", "restore": "failback"}


@dataclass(frozen=True, slots=True)
class Transition:
    """One transition window: the event that began it and the longest outage after it.

    `outage` is (last reply before the loss, first reply after it) in wall-clock seconds
    for the flow with the longest loss, None without loss; `open_ended` when no reply
    came back before the window ended; `changed_at` when the path moved off the one it
    was on at the event (None: it did not within the window, or no path was watched).
    """

    name: str  # failover, failback (numbered when repeated)
    event_at: float
    window_end: float
    outage: tuple[float, float] | None
    open_ended: bool = False
    changed_at: float | None = None

    @property
    def outage_ms(self) -> float | None:
        return None if self.outage is None else (self.outage[1] - self.outage[0]) * 1000.0


def transitions(
    samples: Sequence[Sample],
    events: Sequence[Mapping[str, Any]],
    path_spans: Sequence[tuple[float, float, str]] = (),
) -> list[Transition]:
    """A transition per fault (failover) and restore (failback) event, oldest first;
    `path_spans` (``(start, end, path)``) date each one's path change."""
    marks = sorted(
        (float(e["wall"]), _TRANSITION_OF[str(e.get("kind"))])
        for e in events
        if str(e.get("kind")) in _TRANSITION_OF
    )
    last_sent = max((s.sent for s in samples), default=None)
    seen: dict[str, int] = defaultdict(int)
    out: list[Transition] = []
    for i, (at, name) in enumerate(marks):
        seen[name] += 1
        label = name if seen[name] == 1 else f"{name} {seen[name]}"
        end = marks[i + 1][0] if i + 1 < len(marks) else (last_sent if last_sent else at)
        span, open_ended = _longest_outage(samples, at, max(end, at))
        changed = path_change(path_spans, at, max(end, at))
        out.append(Transition(label, at, max(end, at), span, open_ended, changed))
    return out


def path_change(
    path_spans: Sequence[tuple[float, float, str]], at: float, until: float
) -> float | None:
    """When the path first moved off the one it was on at `at`, no later than `until`."""
    ordered = sorted(path_spans)
    before = [p for start, end, p in ordered if start <= at]
    if not before:
        return None
    return next((s for s, _, p in ordered if at < s <= until and p != before[-1]), None)


def _longest_outage(
    samples: Sequence[Sample], start: float, end: float
) -> tuple[tuple[float, float] | None, bool]:
    by_flow: dict[str, list[Sample]] = defaultdict(list)
    for s in samples:
        by_flow[s.flow].append(s)
    best: tuple[float, float] | None = None
    best_open = False
    for flow in by_flow.values():
        flow.sort(key=lambda s: s.sent)
        last_reply: float | None = None
        first_loss: float | None = None
        for s in flow:
            if s.sent > end and first_loss is None:
                break
            if s.answered:
                if first_loss is not None:
                    span = (last_reply if last_reply is not None else first_loss, s.sent)
                    if best is None or span[1] - span[0] > best[1] - best[0]:
                        best, best_open = span, False
                    first_loss = None
                    if s.sent > end:
                        break
                last_reply = s.sent
            elif start <= s.sent < end and first_loss is None:
                first_loss = s.sent
        if first_loss is not None:  # no reply after the loss
            span = (last_reply if last_reply is not None else first_loss, flow[-1].sent)
            if best is None or span[1] - span[0] > best[1] - best[0]:
                best, best_open = span, True
    return best, best_open
