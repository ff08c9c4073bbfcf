"""What a drill scenario needs from an environment, whatever it is (lab or Azure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from erdrill.paths import PathPair
from erdrill.routes import RouteTable


@dataclass(frozen=True, slots=True)
class ProbeTarget:
    """An address to probe, with the TCP port to SYN, and path signatures to classify by."""

    address: str
    tcp_port: int = 443
    name: str = ""
    # reply TTL seen over each path, e.g. {"expressroute": 60, "vpn": 61}
    ttl_signatures: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Health:
    """Steady-state facts: BGP sessions, the tunnel and the path in each direction."""

    bgp: dict[str, str]  # session name -> state ("established", "down", ...)
    tunnel: str  # "up" / "down"
    paths: PathPair
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bgp": dict(self.bgp),
            "tunnel": self.tunnel,
            "paths": self.paths.to_dict(),
            "details": self.details,
        }


class Target(Protocol):
    """An environment a drill runs against."""

    name: str

    def describe(self) -> dict[str, str]:
        """Labels for the record and the report (topology or circuit name, versions)."""
        ...

    def ensure_ready(self) -> None:
        """Bring the environment up if needed and wait until it is healthy."""
        ...

    def health(self) -> Health: ...

    def route_tables(self) -> list[RouteTable]:
        """Classified route tables of both sides, for evidence."""
        ...

    def fault_kinds(self) -> list[str]: ...

    def inject(self, kind: str) -> None:
        """Cause the fault; it must be undone with `undo`."""
        ...

    def undo(self, kind: str) -> None: ...

    def probe_targets(self) -> list[ProbeTarget]: ...

    def probe_namespace(self) -> str | None:
        """The network namespace to probe from, or None for this host."""
        ...

    def ground_truth(self, since: float) -> list[dict[str, Any]]:
        """Events (faults, route changes) recorded by the environment since a wall time."""
        ...
