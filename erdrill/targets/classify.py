"""Judge Azure's routes as ExpressRoute or VPN, by a documented rule the operator can override.

Inputs are the ARM shapes (EffectiveRoute of a NIC, GatewayRoute learned by a gateway).

Rule "as-path-12076" (default): a gateway-learned route whose AS path passes through 12076,
Microsoft's ASN, came over ExpressRoute; any other BGP-learned route came over the VPN.
A NIC's effective route is judged by the learned routes for the same prefix: if its next
hop matches one learned route, that route decides; otherwise, ExpressRoute wins when any
12076 route exists for the prefix (Azure prefers ExpressRoute for equal prefixes), else VPN.

Rule "next-hop": a route whose next hop is in er_next_hops is ExpressRoute, in
vpn_next_hops the VPN, otherwise unknown. Use it when the AS path is not telling (e.g. the
VPN also carries 12076 through a transit design).

The path to an on-premises prefix is that of the active effective route with the longest
prefix covering it (longest prefix match first, as Azure routes).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from erdrill.core.config import ClassificationConfig
from erdrill.core.paths import PathKind
from erdrill.core.routes import RouteEntry, RouteTable

__all__ = [
    "MICROSOFT_ASN",
    "BgpPeer",
    "EffectiveRoute",
    "GatewayRoute",
    "classify_effective_route",
    "classify_learned_route",
    "gateway_route_table",
    "nic_route_table",
    "path_to_prefix",
]

MICROSOFT_ASN = "12076"


class _Arm(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class EffectiveRoute(_Arm):
    """One entry of a NIC's effective route table (ARM `EffectiveRoute`)."""

    name: str | None = None
    source: str = "Unknown"
    state: str = "Active"
    address_prefix: list[str] = Field(alias="addressPrefix")
    next_hop_ip_address: list[str] = Field(default_factory=list, alias="nextHopIpAddress")
    next_hop_type: str = Field(default="None", alias="nextHopType")


class GatewayRoute(_Arm):
    """One route a virtual network gateway learned (ARM `GatewayRoute`)."""

    local_address: str = Field(default="", alias="localAddress")
    network: str
    next_hop: str = Field(default="", alias="nextHop")
    source_peer: str = Field(default="", alias="sourcePeer")
    origin: str = ""
    as_path: str = Field(default="", alias="asPath")
    weight: int = 0


class BgpPeer(_Arm):
    """A gateway's BGP peer (ARM `BgpPeerStatus`)."""

    local_address: str = Field(default="", alias="localAddress")
    neighbor: str
    asn: int = 0
    state: str
    connected_duration: str = Field(default="", alias="connectedDuration")
    routes_received: int = Field(default=0, alias="routesReceived")


def _through_12076(as_path: str) -> bool:
    return MICROSOFT_ASN in as_path.replace(",", " ").replace("-", " ").split()


def classify_learned_route(route: GatewayRoute, rule: ClassificationConfig) -> PathKind:
    """The path one gateway-learned route came over."""
    if rule.rule == "next-hop":
        return _by_next_hop([route.next_hop], rule)
    if route.origin.lower() == "network":  # the VNet's own prefixes
        return PathKind.UNKNOWN
    return PathKind.EXPRESSROUTE if _through_12076(route.as_path) else PathKind.VPN


def _by_next_hop(next_hops: Iterable[str], rule: ClassificationConfig) -> PathKind:
    hops = set(next_hops)
    if hops & set(rule.er_next_hops):
        return PathKind.EXPRESSROUTE
    if hops & set(rule.vpn_next_hops):
        return PathKind.VPN
    return PathKind.UNKNOWN


def classify_effective_route(
    route: EffectiveRoute, learned: Sequence[GatewayRoute], rule: ClassificationConfig
) -> PathKind:
    """The path an effective route of a NIC sends traffic over."""
    if route.next_hop_type == "None" or route.state != "Active":
        return PathKind.NONE
    if rule.rule == "next-hop":
        return _by_next_hop(route.next_hop_ip_address, rule)
    if route.source != "VirtualNetworkGateway":
        return PathKind.UNKNOWN
    same = [lr for lr in learned if lr.network in route.address_prefix]
    for lr in same:
        if lr.next_hop and lr.next_hop in route.next_hop_ip_address:
            return classify_learned_route(lr, rule)
    kinds = {classify_learned_route(lr, rule) for lr in same}
    if PathKind.EXPRESSROUTE in kinds:
        return PathKind.EXPRESSROUTE
    if PathKind.VPN in kinds:
        return PathKind.VPN
    return PathKind.UNKNOWN


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def path_to_prefix(prefix: str, table: RouteTable) -> PathKind:
    """The path of the active entry with the longest prefix covering `prefix` (NONE if none)."""
    want = _network(prefix)
    if want is None:
        return PathKind.UNKNOWN
    best: tuple[int, PathKind] | None = None
    for e in table.entries:
        net = _network(e.prefix)
        if not e.active or net is None or net.version != want.version:
            continue
        if want.subnet_of(net) and (best is None or net.prefixlen > best[0]):  # type: ignore[arg-type]
            best = (net.prefixlen, e.path)
    return PathKind.NONE if best is None else best[1]


def nic_route_table(
    owner: str,
    routes: Sequence[EffectiveRoute],
    learned: Sequence[GatewayRoute],
    rule: ClassificationConfig,
    taken_at: float,
) -> RouteTable:
    """A NIC's effective routes as a classified RouteTable (one entry per prefix)."""
    entries = []
    for r in routes:
        kind = classify_effective_route(r, learned, rule)
        as_path = next(
            (
                lr.as_path
                for lr in learned
                if lr.network in r.address_prefix and lr.next_hop in r.next_hop_ip_address
            ),
            "",
        )
        for p in r.address_prefix:
            entries.append(
                RouteEntry(
                    prefix=p,
                    next_hop=",".join(r.next_hop_ip_address) or r.next_hop_type,
                    path=kind,
                    source=r.source,
                    as_path=as_path,
                    active=r.state == "Active",
                )
            )
    return RouteTable(owner=owner, side="azure", taken_at=taken_at, entries=entries)


def gateway_route_table(
    owner: str, learned: Sequence[GatewayRoute], rule: ClassificationConfig, taken_at: float
) -> RouteTable:
    """A gateway's learned routes as a classified RouteTable."""
    entries = [
        RouteEntry(
            prefix=lr.network,
            next_hop=lr.next_hop,
            path=classify_learned_route(lr, rule),
            source=lr.origin,
            as_path=lr.as_path,
        )
        for lr in learned
    ]
    return RouteTable(owner=owner, side="azure", taken_at=taken_at, entries=entries)
