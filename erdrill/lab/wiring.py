"""Which interface or next hop is which path, on every router that chooses one.

The one place that says "er0 on a CE router is the primary ExpressRoute link": the path
checks, the route tables and the route watchers all read these tables. A next hop that
is another router of the same side (an on-premises router across the LAN, the
ExpressRoute gateway seen from the VNet) is followed there to learn which link or VPN
instance the traffic finally takes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyroute2 import IPRoute

from erdrill.core.paths import PathKind
from erdrill.lab.plan import plan
from erdrill.lab.topology import Topology

__all__ = [
    "Hop",
    "PathSignals",
    "path_signals",
    "route_hop",
    "router_signals",
]


@dataclass(frozen=True)
class Hop:
    """Where a route leads: its path, which link or instance (`primary`, `instance-2`), and
    the router to ask next when this one only hands the traffic on."""

    kind: PathKind
    detail: str = ""
    follow: str | None = None

    @property
    def label(self) -> str:
        """`expressroute/primary`, `vpn/instance-1`, or the bare path."""
        return f"{self.kind.value}/{self.detail}" if self.detail else self.kind.value


NO_ROUTE = Hop(PathKind.NONE)
UNKNOWN = Hop(PathKind.UNKNOWN)


@dataclass(frozen=True)
class PathSignals:
    """What tells the paths apart on one router: its outgoing interface or next hop."""

    node: str
    side: str  # "onprem" or "azure"
    by_oif: dict[str, Hop] = field(default_factory=dict)
    by_gateway: dict[str, Hop] = field(default_factory=dict)

    def hop(self, next_hop: str, device: str) -> Hop:
        return self.by_gateway.get(next_hop) or self.by_oif.get(device) or UNKNOWN

    def of(self, next_hop: str, device: str) -> PathKind:
        return self.hop(next_hop, device).kind

    def watch_args(self) -> list[str]:
        """The `python -m lab.watch` options that classify this router's route changes
        (`er0=expressroute/primary`: the path, and the link or instance where known)."""
        args = []
        for flag, table in (("--oif", self.by_oif), ("--gw", self.by_gateway)):
            for key, hop in table.items():
                args += [flag, f"{key}={hop.label}"]
        return args


def router_signals(t: Topology) -> dict[str, PathSignals]:
    """The signals of every router that picks a path: on-prem routers, VNet, ER gateway."""
    p = plan(t)
    o, az = t.onprem, t.azure
    out: dict[str, PathSignals] = {}
    roles: dict[str, set[PathKind]] = {r: set() for r in o.routers}
    for link in p.links:
        roles[link.ce].add(PathKind.EXPRESSROUTE)
    for tun in p.tunnels:
        roles[tun.device].add(PathKind.VPN)
    for router in o.routers:
        oif, gw = {}, {}
        for link in p.links_of(router):
            hop = Hop(PathKind.EXPRESSROUTE, link.label)
            oif[link.ce_if], gw[link.msee_ip] = hop, hop
        for tun in p.tunnels:
            if tun.device == router:
                hop = Hop(PathKind.VPN, tun.label)
                oif[f"ipsec{tun.device_end}"], gw[tun.instance_bgp] = hop, hop
        for peer, addr in o.routers.items():
            if peer != router:
                only = next(iter(roles[peer])) if len(roles[peer]) == 1 else PathKind.UNKNOWN
                gw[addr] = Hop(only, follow=peer)
        out[router] = PathSignals(router, "onprem", oif, gw)
    vnet_gw = {az.er_gateway: Hop(PathKind.EXPRESSROUTE, follow=az.er_gateway_node)}
    for n, addr in enumerate(t.vpn.instances.values(), start=1):
        vnet_gw[addr] = Hop(PathKind.VPN, f"instance-{n}")
    out[az.vnet_node] = PathSignals(az.vnet_node, "azure", {}, vnet_gw)
    er_gw = {link.msee_gw_ip: Hop(PathKind.EXPRESSROUTE, link.label) for link in p.links}
    er_oif = {link.gateway_if: Hop(PathKind.EXPRESSROUTE, link.label) for link in p.links}
    out[az.er_gateway_node] = PathSignals(az.er_gateway_node, "azure", er_oif, er_gw)
    return out


def path_signals(t: Topology) -> tuple[PathSignals, PathSignals]:
    """Where each direction's path is chosen: the hosts' gateway (forward) and the VNet (return)."""
    signals = router_signals(t)
    return signals[plan(t).lan_owner], signals[t.azure.vnet_node]


def route_hop(ipr: IPRoute, dst: str, signals: PathSignals) -> Hop:
    """Where the router's FIB sends traffic to `dst` now."""
    try:
        route = ipr.route("get", dst=dst)[0]
    except Exception:
        return NO_ROUTE
    nh = route.get("RTA_GATEWAY") or ""
    if nh in signals.by_gateway:
        return signals.by_gateway[nh]
    if signals.by_oif:
        link = ipr.get_links(route.get("RTA_OIF"))[0]
        return signals.by_oif.get(link.get("IFLA_IFNAME"), UNKNOWN)
    return UNKNOWN
