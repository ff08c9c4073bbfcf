"""Which path carries traffic: ExpressRoute or the VPN, in each direction."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

__all__ = ["ON_EXPRESSROUTE", "ON_VPN", "PathKind", "PathPair"]


class PathKind(enum.StrEnum):
    EXPRESSROUTE = "expressroute"
    VPN = "vpn"
    UNKNOWN = "unknown"
    NONE = "none"  # no route at all


@dataclass(frozen=True, slots=True)
class PathPair:
    """The path in each direction: forward is on-premises to Azure, return is Azure to on-premises."""

    forward: PathKind
    return_: PathKind
    # which link or VPN instance, where the target tells (`primary`, `instance-2`); two
    # pairs on the same paths are equal whatever their details
    forward_detail: str = field(default="", compare=False)
    return_detail: str = field(default="", compare=False)

    def to_dict(self) -> dict[str, str]:
        return {"forward": self.forward.value, "return": self.return_.value}

    def details(self) -> dict[str, str]:
        """`expressroute/primary`, `vpn/instance-1` (the bare path when no detail is known)."""
        return {
            "forward": "/".join(p for p in (self.forward.value, self.forward_detail) if p),
            "return": "/".join(p for p in (self.return_.value, self.return_detail) if p),
        }

    @classmethod
    def from_dict(cls, d: dict[str, str]) -> PathPair:
        return cls(PathKind(d["forward"]), PathKind(d["return"]))

    @property
    def symmetric(self) -> bool:
        return self.forward == self.return_

    def __str__(self) -> str:
        return f"forward={self.forward.value} return={self.return_.value}"


ON_EXPRESSROUTE = PathPair(PathKind.EXPRESSROUTE, PathKind.EXPRESSROUTE)
ON_VPN = PathPair(PathKind.VPN, PathKind.VPN)
