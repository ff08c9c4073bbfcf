"""Route tables with every entry classified as ExpressRoute or VPN."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from erdrill.core.paths import PathKind

__all__ = ["RouteEntry", "RouteTable"]


@dataclass(frozen=True, slots=True)
class RouteEntry:
    prefix: str
    next_hop: str
    path: PathKind
    source: str = ""  # protocol or origin: bgp, kernel, VirtualNetworkGateway, ...
    as_path: str = ""
    active: bool = True

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["path"] = self.path.value
        return d


@dataclass(slots=True)
class RouteTable:
    """The routes one router (or NIC) holds, as seen at `taken_at` (wall-clock seconds)."""

    owner: str  # e.g. "onprem-edge" or "nic:workload-nic"
    side: str  # "onprem" or "azure"
    taken_at: float
    entries: list[RouteEntry] = field(default_factory=list)

    def path_to(self, prefix: str) -> PathKind:
        """The path of the active entry for exactly this prefix (NONE when absent)."""
        for e in self.entries:
            if e.prefix == prefix and e.active:
                return e.path
        return PathKind.NONE

    def to_dict(self) -> dict[str, Any]:
        return {
            "owner": self.owner,
            "side": self.side,
            "taken_at": self.taken_at,
            "entries": [e.to_dict() for e in self.entries],
        }

    def as_text(self) -> str:
        """A readable fixed-width table for reports."""
        head = f"{self.owner} ({self.side})"
        rows = [f"{'prefix':<20} {'next hop':<18} {'path':<13} {'source':<10} as-path"]
        for e in self.entries:
            mark = "" if e.active else " (inactive)"
            rows.append(
                f"{e.prefix:<20} {e.next_hop:<18} {e.path.value:<13} {e.source:<10} "
                f"{e.as_path}{mark}"
            )
        return "\n".join([head, *rows])
