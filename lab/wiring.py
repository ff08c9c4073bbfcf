"""How the lab is wired: veth pairs, bridges, and which interface or next hop is which path.

The one place that says "er0 on the on-prem edge is ExpressRoute": the path checks, the
route tables and the route watchers all read these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyroute2 import IPRoute

from core.paths import PathKind
from lab import swan
from lab.topology import Topology

__all__ = ["BRIDGES", "LINKS", "PathSignals", "path_signals", "route_path"]

# (node, interface, node, interface): every veth pair of the lab.
LINKS = (
    ("onprem-host", "eth0", "onprem-edge", "lan"),
    ("onprem-edge", "er0", "provider", "ce"),
    ("provider", "msee", "msee", "ce"),
    ("msee", "gw", "er-gateway", "msee"),
    ("onprem-edge", "inet0", "vpn-gateway", "inet0"),
    ("er-gateway", "gwsub", "vnet", "er"),
    ("vpn-gateway", "gwsub", "vnet", "vpn"),
    ("vnet", "wl", "workload", "eth0"),
)
BRIDGES = {"provider": ("br0", ("ce", "msee")), "vnet": ("gwsub", ("er", "vpn"))}


@dataclass(frozen=True)
class PathSignals:
    """What tells the paths apart on one router: its outgoing interface or next hop."""

    node: str
    side: str  # "onprem" or "azure"
    by_oif: dict[str, PathKind]
    by_gateway: dict[str, PathKind]

    def of(self, next_hop: str, device: str) -> PathKind:
        return self.by_gateway.get(next_hop) or self.by_oif.get(device) or PathKind.UNKNOWN

    def watch_args(self) -> list[str]:
        """The `python -m lab.watch` options that classify this router's route changes."""
        args = []
        for flag, table in (("--oif", self.by_oif), ("--gw", self.by_gateway)):
            for key, path in table.items():
                args += [flag, f"{key}={path.value}"]
        return args


def path_signals(t: Topology) -> tuple[PathSignals, PathSignals]:
    """The on-prem edge (forward direction) and the VNet router (return direction)."""
    edge = PathSignals(
        "onprem-edge",
        "onprem",
        {"er0": PathKind.EXPRESSROUTE, swan.TUN_DEVICE: PathKind.VPN},
        {},
    )
    vnet = PathSignals(
        "vnet",
        "azure",
        {},
        {t.azure.er_gateway: PathKind.EXPRESSROUTE, t.azure.vpn_gateway: PathKind.VPN},
    )
    return edge, vnet


def route_path(ipr: IPRoute, dst: str, signals: PathSignals) -> PathKind:
    """The path the router's FIB uses to `dst` now."""
    try:
        route = ipr.route("get", dst=dst)[0]
    except Exception:
        return PathKind.NONE
    nh = route.get("RTA_GATEWAY") or ""
    if nh in signals.by_gateway:
        return signals.by_gateway[nh]
    if signals.by_oif:
        link = ipr.get_links(route.get("RTA_OIF"))[0]
        return signals.by_oif.get(link.get("IFLA_IFNAME"), PathKind.UNKNOWN)
    return PathKind.UNKNOWN
