"""What a probe is aimed at: an address, its TCP port and the path signatures to classify by."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ProbeTarget"]


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """An address to probe, with the TCP port to SYN, and path signatures to classify by."""

    address: str
    tcp_port: int = 443
    name: str = ""
    # reply TTL seen over each path, e.g. {"expressroute": 60, "vpn": 61}
    ttl_signatures: dict[str, int] = field(default_factory=dict)
