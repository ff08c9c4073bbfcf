"""Which path (ExpressRoute or VPN) carries probes: return path by reply TTL, forward by hops."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from erdrill.core.paths import PathKind
from erdrill.probes.netns import run_in_namespace, source_address
from erdrill.probes.samples import Outcome, Sample
from erdrill.probes.target import ProbeTarget

__all__ = [
    "HopSignature",
    "classify_forward_path",
    "classify_return_path",
    "return_path_of",
    "traceroute",
]


def classify_return_path(ttl: int | None, signatures: Mapping[str, int]) -> PathKind:
    """The path whose signature TTL equals the reply TTL, else UNKNOWN."""
    if ttl is None:
        return PathKind.UNKNOWN
    for path, expected in signatures.items():
        if ttl == expected:
            return PathKind(path)
    return PathKind.UNKNOWN


def return_path_of(
    samples: Sequence[Sample], target: ProbeTarget, at: str = "start", window: int = 20
) -> PathKind:
    """The return path most replies from `target` took at the start or end of a run."""
    replies = [s for s in samples if s.target == target.address and s.outcome is Outcome.REPLY]
    replies.sort(key=lambda s: s.sent)
    chosen = replies[:window] if at == "start" else replies[-window:]
    votes = Counter(classify_return_path(s.ttl, target.ttl_signatures) for s in chosen)
    if not votes:
        return PathKind.UNKNOWN
    return votes.most_common(1)[0][0]


@dataclass(frozen=True, slots=True)
class HopSignature:
    """How the forward path looks: any of these hop addresses, or this many hops."""

    addresses: frozenset[str] = field(default_factory=frozenset)
    hops: int | None = None


def classify_forward_path(
    hops: Sequence[str | None], signatures: Mapping[str, HopSignature]
) -> PathKind:
    """Match a traceroute against hop signatures; addresses win over hop counts."""
    seen = {h for h in hops if h}
    for path, sig in signatures.items():
        if sig.addresses & seen:
            return PathKind(path)
    for path, sig in signatures.items():
        if sig.hops is not None and sig.hops == len(hops) and hops and hops[-1]:
            return PathKind(path)
    return PathKind.UNKNOWN


def traceroute(
    address: str, namespace: str | None = None, max_hops: int = 16, timeout: float = 1.0
) -> list[str | None]:
    """Forward hops to `address` (None where no hop answered), ending at the target.

    TTL-limited ICMP echoes built and matched by scapy, from inside `namespace`.
    """
    return run_in_namespace(namespace, _traceroute_here, address, max_hops, timeout)


def _traceroute_here(address: str, max_hops: int, timeout: float) -> list[str | None]:
    from scapy.layers.inet import ICMP, IP
    from scapy.sendrecv import sndrcv
    from scapy.supersocket import L3RawSocket

    ident = os.getpid() & 0xFFFF
    src = source_address(address)
    probes = [
        IP(src=src, dst=address, ttl=t) / ICMP(id=ident, seq=t) for t in range(1, max_hops + 1)
    ]
    sock = L3RawSocket()
    try:
        answered, _ = sndrcv(sock, probes, timeout=timeout, verbose=0)
    finally:
        sock.close()
    by_ttl: dict[int, str] = {}
    for sent, reply in answered:
        by_ttl[int(sent[IP].ttl)] = str(reply[IP].src)
    hops: list[str | None] = []
    for ttl in range(1, max_hops + 1):
        hop = by_ttl.get(ttl)
        hops.append(hop)
        if hop == address:
            break
    while hops and hops[-1] is None:
        hops.pop()
    return hops
