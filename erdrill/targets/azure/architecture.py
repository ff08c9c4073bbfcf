"""Architecture checks: what must hold before an ExpressRoute-to-VPN failover can work.

Read-only, from the resource group's inventory (targets.azure.inventory) and the ER
gateway's BGP peers. Each rule has a stable id, a severity, an action and the Microsoft
document it comes from (`RULES`; reports.findings adds them to its catalogue). A finding
is a text starting with its id ("ERD-ARCH-001: ..."). Critical ones mean the failover
cannot work: the drill's steady state fails on them; the others are recorded.

- ERD-ARCH-001 the GatewaySubnet exists and is /27 or larger
- ERD-ARCH-002 both gateways are in the same virtual network's GatewaySubnet
- ERD-ARCH-003 the VPN gateway is route-based and of a SKU that coexists with ExpressRoute
- ERD-ARCH-004 BGP on the VPN connection, or local network gateway prefixes covering
  the on-premises prefixes
- ERD-ARCH-005 the ExpressRoute and VPN connections are both Connected
- ERD-ARCH-006 one ExpressRoute link down (resilience)
A single peering location is a note (information), not a finding: Microsoft's
site-resiliency design needs a second circuit elsewhere, which many deployments lack.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from erdrill.core.config import AzureConfig
from erdrill.targets.azure.inventory import Inventory, covers, name_of, prop
from erdrill.targets.azure.reads import ControlPlane
from erdrill.targets.classify import MICROSOFT_ASN

__all__ = ["RULES", "ArchitectureRule", "Review", "review"]

_COEXIST = (
    "Configure ExpressRoute and Site-to-Site coexisting connections "
    "(learn.microsoft.com/azure/expressroute/expressroute-howto-coexist-resource-manager)"
)
_FAILOVER = (
    "Connect an on-premises network to Azure using ExpressRoute with VPN failover "
    "(learn.microsoft.com/azure/architecture/reference-architectures/hybrid-networking/"
    "expressroute-vpn-failover)"
)
_HA = (
    "Designing for high availability with ExpressRoute "
    "(learn.microsoft.com/azure/expressroute/designing-for-high-availability-with-expressroute)"
)
_S2S = (
    "Using S2S VPN as a backup for ExpressRoute private peering "
    "(learn.microsoft.com/azure/expressroute/use-s2s-vpn-as-backup-for-expressroute-privatepeering)"
)


@dataclass(frozen=True)
class ArchitectureRule:
    """One architecture check as a catalogue entry."""

    id: str
    slug: str
    severity: str  # critical | major | minor
    title: str
    action: str
    source: str  # the Microsoft document it comes from


RULES: tuple[ArchitectureRule, ...] = (
    ArchitectureRule(
        "ERD-ARCH-001",
        "gateway-subnet-size",
        "major",
        "The GatewaySubnet is missing or smaller than /27",
        "Resize the GatewaySubnet to /27 or larger (delete and recreate the gateways if "
        "needed): both gateways share it and coexistence needs the room.",
        _COEXIST,
    ),
    ArchitectureRule(
        "ERD-ARCH-002",
        "gateways-apart",
        "critical",
        "The ExpressRoute and VPN gateways are not in the same GatewaySubnet",
        "Deploy the VPN gateway in the GatewaySubnet of the virtual network the "
        "ExpressRoute gateway is in: only then does the VPN back up the same network.",
        _FAILOVER,
    ),
    ArchitectureRule(
        "ERD-ARCH-003",
        "vpn-gateway-type",
        "critical",
        "The VPN gateway is policy-based or of a SKU that cannot coexist with ExpressRoute",
        "Use a route-based VPN gateway of a SKU other than Basic (VpnGw1 or above, AZ "
        "recommended), keeping ASN 65515.",
        _COEXIST,
    ),
    ArchitectureRule(
        "ERD-ARCH-004",
        "vpn-prefixes",
        "major",
        "The VPN does not learn the on-premises prefixes (no BGP, local gateway short)",
        "Enable BGP on the VPN connection, or list every on-premises prefix in the local "
        "network gateway's address space, or the VPN cannot carry them.",
        _S2S,
    ),
    ArchitectureRule(
        "ERD-ARCH-005",
        "connection-not-connected",
        "critical",
        "The ExpressRoute or VPN connection is not Connected",
        "Bring the connection up (circuit provisioned by the provider, authorisation, IKE "
        "and shared key with the on-premises VPN device) before drilling.",
        _FAILOVER,
    ),
    ArchitectureRule(
        "ERD-ARCH-006",
        "er-link-down",
        "major",
        "One ExpressRoute link is down: the circuit has no redundancy left",
        "Ask the provider to restore the second link (both links of a circuit should "
        "carry BGP); until then a single failure moves traffic to the VPN.",
        _HA,
    ),
)
_BY_ID = {r.id: r for r in RULES}
_COEXISTING_SKUS_EXCLUDED = {"basic"}


@dataclass
class Review:
    """What the checks found: finding texts (each starting with its id) and notes."""

    findings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, rule_id: str, text: str) -> None:
        self.findings.append(f"{rule_id}: {text}")

    @property
    def critical(self) -> list[str]:
        return [f for f in self.findings if _BY_ID[f.split(":", 1)[0]].severity == "critical"]


def _subnet_size(review: Review, inv: Inventory, where: str) -> None:
    prefix = inv.subnet_prefix(where) if where else None
    if prefix is None:
        review.add("ERD-ARCH-001", f"no GatewaySubnet found for the gateways ({where or '?'})")
        return
    net = ipaddress.ip_network(prefix, strict=False)
    if net.prefixlen > 27:
        review.add(
            "ERD-ARCH-001",
            f"GatewaySubnet of {where.partition('/')[0]} is {prefix}, smaller than /27",
        )


def _gateways(review: Review, inv: Inventory, cfg: AzureConfig) -> None:
    er = inv.named(inv.gateways(), cfg.er_gateway)
    vpn = inv.named(inv.gateways(), cfg.vpn_gateway)
    if er is None or vpn is None:
        missing = [n for n, g in ((cfg.er_gateway, er), (cfg.vpn_gateway, vpn)) if g is None]
        review.add("ERD-ARCH-002", f"gateway {', '.join(missing)} not found in the resource group")
        return
    er_at, vpn_at = inv.gateway_subnets(er), inv.gateway_subnets(vpn)
    where = sorted(er_at | vpn_at)
    if len(where) != 1 or not where[0].lower().endswith("/gatewaysubnet"):
        review.add(
            "ERD-ARCH-002",
            f"ExpressRoute gateway {cfg.er_gateway} is in {', '.join(sorted(er_at)) or '?'}, "
            f"VPN gateway {cfg.vpn_gateway} in {', '.join(sorted(vpn_at)) or '?'}",
        )
    _subnet_size(review, inv, next(iter(er_at), ""))
    vpn_type = prop(vpn, "vpnType")
    sku = str(prop(vpn, "sku", "name") or "")
    if vpn_type != "RouteBased" or sku.lower() in _COEXISTING_SKUS_EXCLUDED:
        review.add(
            "ERD-ARCH-003",
            f"VPN gateway {cfg.vpn_gateway} is {vpn_type or '?'} with SKU {sku or '?'}; "
            "coexistence with ExpressRoute needs RouteBased and not Basic",
        )


def _connections(review: Review, inv: Inventory, cfg: AzureConfig) -> dict[str, Any] | None:
    conns = inv.connections()
    vpn = inv.named(conns, cfg.vpn_connection)
    ers = [
        c
        for c in conns
        if prop(c, "connectionType") == "ExpressRoute"
        and name_of(prop(c, "virtualNetworkGateway1", "id")).lower() == cfg.er_gateway.lower()
        and name_of(prop(c, "peer", "id")).lower() == cfg.circuit.lower()
    ]
    for kind, conn, name in (
        ("VPN", vpn, cfg.vpn_connection),
        ("ExpressRoute", ers[0] if ers else None, f"{cfg.er_gateway} to {cfg.circuit}"),
    ):
        status = prop(conn, "connectionStatus") if conn is not None else "missing"
        if status != "Connected":
            review.add("ERD-ARCH-005", f"{kind} connection {name} is {status}")
    return vpn


def _vpn_prefixes(review: Review, inv: Inventory, cfg: AzureConfig, vpn: dict[str, Any]) -> None:
    if prop(vpn, "enableBgp") is True:
        return
    lng = inv.named(inv.local_gateways(), name_of(prop(vpn, "localNetworkGateway2", "id")))
    space = prop(lng, "localNetworkAddressSpace", "addressPrefixes") or []
    short = covers([str(p) for p in space], cfg.onprem_prefixes)
    if short:
        review.add(
            "ERD-ARCH-004",
            f"VPN connection {cfg.vpn_connection} has no BGP and its local network gateway "
            f"does not cover {', '.join(short)}",
        )


def _resilience(review: Review, reads: ControlPlane, inv: Inventory, cfg: AzureConfig) -> None:
    peers = [p for p in reads.bgp_peers(cfg.er_gateway) if p.asn == int(MICROSOFT_ASN)]
    up = [p for p in peers if p.state == "Connected"]
    if up and len(up) < len(peers):
        down = ", ".join(p.neighbor for p in peers if p.state != "Connected")
        review.add(
            "ERD-ARCH-006",
            f"{len(up)} of {len(peers)} Microsoft edge peers of {cfg.er_gateway} are "
            f"Connected (down: {down})",
        )
    circuit = inv.named(inv.circuits(), cfg.circuit)
    locations = {str(prop(circuit, "serviceProviderProperties", "peeringLocation") or "")}
    locations |= {c.peering_location for c in cfg.circuits}
    locations.discard("")
    if len(locations) < 2:
        review.notes.append(
            f"resilience: every configured circuit is in one peering location "
            f"({', '.join(sorted(locations)) or '?'}); Microsoft's site resiliency needs a "
            f"second circuit elsewhere ({_HA})"
        )


def review(reads: ControlPlane) -> Review:
    """Every architecture check on the configured deployment (reads only)."""
    cfg, out = reads.cfg, Review()
    inv = Inventory(reads.arm, cfg.resource_group)
    _gateways(out, inv, cfg)
    vpn = _connections(out, inv, cfg)
    if vpn is not None:
        _vpn_prefixes(out, inv, cfg, vpn)
    _resilience(out, reads, inv, cfg)
    return out
