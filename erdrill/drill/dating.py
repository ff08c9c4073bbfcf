"""Which evidence dates a transition: the first sign the network changed, and what showed it.

A fault (or its undo) is requested, its call returns, and somewhere between the network
changes. The signs, each with the instant it gives:

- `first-lost-probe`: a probe that was never answered (a fault with an outage);
- `first-probe-on-new-path`: a reply whose TTL is the other path's signature (reply-TTL
  path signatures: a hitless change shows here, to the probe interval);
- `path-read`: the target's path as the watcher read it (route tables: on Azure each
  read takes the ARM read cycle, seconds late);
- `call-returned`: nothing showed before the call returned; the instant it returned.

The earliest sign wins; on a tie the finer evidence (the order above) names it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from erdrill.core.paths import PathKind, PathPair
from erdrill.probes.pathid import classify_return_path
from erdrill.probes.samples import Sample

__all__ = ["Dated", "Evidence", "date_change", "first_on_new_path"]

# replies before the request that set each flow's path (a few: one odd TTL must not decide)
BASELINE_REPLIES = 5


class Evidence(enum.StrEnum):
    """What dated a transition's effective instant (finest first)."""

    FIRST_LOST_PROBE = "first-lost-probe"
    FIRST_PROBE_ON_NEW_PATH = "first-probe-on-new-path"
    PATH_READ = "path-read"
    CALL_RETURNED = "call-returned"


@dataclass(frozen=True, slots=True)
class Dated:
    """An effective instant and the evidence that dated it."""

    at: float
    by: Evidence


def first_on_new_path(
    samples: Sequence[Sample],
    signatures: Mapping[str, Mapping[str, int]],
    since: float,
    until: float,
) -> float | None:
    """When the first probe sent in [since, until] came back over another path than its
    target's replies before `since` (by reply-TTL signature); None if none did or none can tell."""
    firsts: list[float] = []
    by_target: dict[str, list[Sample]] = {}
    for s in sorted(samples, key=lambda s: s.sent):
        if s.answered and s.target in signatures:
            by_target.setdefault(s.target, []).append(s)
    for target, replies in by_target.items():
        sig = signatures[target]
        before = [classify_return_path(s.ttl, sig) for s in replies if s.sent < since]
        recent = [p for p in before[-BASELINE_REPLIES:] if p is not PathKind.UNKNOWN]
        if not recent or len(set(recent)) > 1:
            continue  # no settled path before the request: nothing to compare with
        baseline = recent[0]
        for s in replies:
            if since <= s.sent <= until:
                path = classify_return_path(s.ttl, sig)
                if path is not PathKind.UNKNOWN and path is not baseline:
                    firsts.append(s.sent)
                    break
    return min(firsts, default=None)


def date_change(
    requested: float,
    returned: float,
    history: Sequence[tuple[float, PathPair]],
    samples: Sequence[Sample],
    signatures: Mapping[str, Mapping[str, int]],
    *,
    probe_loss: bool,
) -> Dated:
    """The first sign after `requested` that the network changed, else the call's return."""
    seen = [Dated(returned, Evidence.CALL_RETURNED)]
    before = [p for t, p in history if t < requested]
    baseline = before[-1] if before else None
    seen += [
        Dated(t, Evidence.PATH_READ)
        for t, p in history
        if requested <= t <= returned and p != baseline
    ]
    on_new = first_on_new_path(samples, signatures, requested, returned)
    if on_new is not None:
        seen.append(Dated(on_new, Evidence.FIRST_PROBE_ON_NEW_PATH))
    if probe_loss:
        seen += [
            Dated(s.sent, Evidence.FIRST_LOST_PROBE)
            for s in samples
            if not s.answered and requested <= s.sent <= returned
        ]
    order = list(Evidence)
    return min(seen, key=lambda d: (d.at, order.index(d.by)))
