"""`erdrill discover`: read a resource group (read-only) and write the drill config.

From the circuit (the only one, or `--circuit`): the ExpressRoute gateway connected to it
and its virtual network, the VPN gateway in the same virtual network and its
connection(s), a NIC on a VM in that network (its address is the probe target), the
on-premises prefixes the gateways learn over both paths, the circuit's peering location,
its links (the ER gateway's Microsoft edge peers) and other circuits in other locations.
Whatever is not decided is written as a commented choice listing the candidates; where
there are several candidates the first is written and the others listed beside it.

Refused in one line (`DiscoveryError`): no circuit, two circuits without `--circuit`, a
circuit that is not there, no gateway connected to it, no VPN gateway beside it. ARM's own
errors (subscription or resource group not found, a credential that fails) come through
targets.azure.errors as one line too.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from erdrill.core.config import AzureConfig
from erdrill.core.errors import TargetError
from erdrill.core.fault_methods import METHODS
from erdrill.core.paths import PathKind
from erdrill.targets.azure.arm import Arm
from erdrill.targets.azure.fit import links_of
from erdrill.targets.azure.inventory import Inventory, name_of, prop
from erdrill.targets.azure.reads import ControlPlane
from erdrill.targets.classify import classify_learned_route

__all__ = ["Discovered", "DiscoveryError", "discover", "placeholder_config"]


class DiscoveryError(TargetError):
    """The resource group does not hold what a drill needs (one line, the fix included)."""


def placeholder_config(subscription_id: str, resource_group: str, **extra: Any) -> AzureConfig:
    """An [azure] config good enough to read the resource group before anything is known."""
    names = {k: "?" for k in ("circuit", "er_gateway", "vpn_gateway", "vpn_connection", "nic")}
    return AzureConfig.model_validate(
        {
            "subscription_id": subscription_id,
            "resource_group": resource_group,
            "onprem_prefixes": ["0.0.0.0/0"],
            **names,
            **extra,
        }
    )


@dataclass
class Discovered:
    """What was found; `choices` holds the candidates of each value that had several."""

    values: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    probe_address: str = ""
    links: int = 0
    circuits: list[tuple[str, str]] = field(default_factory=list)  # (name, location)

    def pick(self, key: str, candidates: list[str], what: str) -> str:
        if not candidates:
            raise DiscoveryError(f"discover: no {what} found; {_FIX.get(key, '')}".rstrip("; "))
        self.values[key] = candidates[0]
        if len(candidates) > 1:
            self.choices[key] = candidates
        return candidates[0]


_FIX = {
    "er_gateway": "connect an ExpressRoute gateway to the circuit first",
    "vpn_gateway": "a VPN backup needs a VPN gateway in the ExpressRoute gateway's network",
    "vpn_connection": "connect the VPN gateway to the on-premises VPN device first",
    "nic": "a drill needs a VM in the virtual network as its probe target",
}


def _circuit(inv: Inventory, wanted: str | None) -> dict[str, Any]:
    circuits = inv.circuits()
    names = [str(c.get("name")) for c in circuits]
    if wanted:
        found = inv.named(circuits, wanted)
        if found is None:
            raise DiscoveryError(
                f"discover: --circuit {wanted}: no such circuit in resource group {inv.rg} "
                f"(found: {', '.join(names) or 'none'})"
            )
        return found
    if not circuits:
        raise DiscoveryError(
            f"discover: resource group {inv.rg} has no ExpressRoute circuit; give the resource "
            "group of the circuit (--resource-group)"
        )
    if len(circuits) > 1:
        raise DiscoveryError(
            f"discover: resource group {inv.rg} has {len(circuits)} circuits "
            f"({', '.join(names)}); choose one with --circuit"
        )
    return circuits[0]


def _prefixes(reads: ControlPlane, er_gateway: str, vpn_gateway: str) -> tuple[list[str], str]:
    """On-premises prefixes learned over both paths (else those of either), and how."""
    rule = reads.cfg.classification
    learned: dict[PathKind, set[str]] = {PathKind.EXPRESSROUTE: set(), PathKind.VPN: set()}
    for gw in (er_gateway, vpn_gateway):
        for r in reads.learned_routes(gw):
            if r.origin in ("EBgp", "IBgp"):
                kind = classify_learned_route(r, rule)
                if kind in learned:
                    learned[kind].add(r.network)
    er, vpn = learned[PathKind.EXPRESSROUTE], learned[PathKind.VPN]

    def key(p: str) -> tuple[int, int]:
        n = ipaddress.ip_network(p, strict=False)
        return (n.version, int(n.network_address))

    both = sorted(er & vpn, key=key)
    if both:
        return both, "learned over both ExpressRoute and the VPN"
    return sorted(er | vpn, key=key), "learned over one path only: check them"


def discover(arm: Arm, circuit_name: str | None) -> Discovered:
    """Read the resource group and decide the drill config's values (reads only)."""
    inv = Inventory(arm, arm.cfg.resource_group)
    out = Discovered()
    circuit = _circuit(inv, circuit_name)
    cname = out.pick("circuit", [str(circuit.get("name"))], "circuit")
    location = str(prop(circuit, "serviceProviderProperties", "peeringLocation") or "")
    out.circuits = [(cname, location)] + [
        (str(c.get("name")), str(prop(c, "serviceProviderProperties", "peeringLocation") or ""))
        for c in inv.circuits()
        if str(c.get("name")) != cname
    ]
    peerings = [str(p.get("name")) for p in prop(circuit, "peerings") or []]
    if "AzurePrivatePeering" not in peerings:
        raise DiscoveryError(
            f"discover: circuit {cname} has no AzurePrivatePeering (has: "
            f"{', '.join(peerings) or 'none'}); the VPN backs up private peering only"
        )
    conns = inv.connections()
    er_gws = [
        name_of(prop(c, "virtualNetworkGateway1", "id"))
        for c in conns
        if prop(c, "connectionType") == "ExpressRoute"
        and name_of(prop(c, "peer", "id")).lower() == cname.lower()
    ]
    er_gw = out.pick("er_gateway", list(dict.fromkeys(er_gws)), f"gateway connected to {cname}")
    gateways = inv.gateways()
    vnets = {s.partition("/")[0] for s in inv.gateway_subnets(inv.named(gateways, er_gw) or {})}
    vnets -= {""}
    vpn_gws = [
        str(g.get("name"))
        for g in gateways
        if prop(g, "gatewayType") == "Vpn"
        and {v.partition("/")[0] for v in inv.gateway_subnets(g)} & vnets
    ]
    vpn_gw = out.pick("vpn_gateway", vpn_gws, f"VPN gateway in {', '.join(vnets) or '?'}")
    vpn_conns = [
        str(c.get("name"))
        for c in conns
        if prop(c, "connectionType") == "IPsec"
        and name_of(prop(c, "virtualNetworkGateway1", "id")).lower() == vpn_gw.lower()
    ]
    out.pick("vpn_connection", vpn_conns, f"IPsec connection of {vpn_gw}")
    nics: list[tuple[str, str]] = []
    for nic in inv.nics():
        if prop(nic, "virtualMachine", "id") is None:
            continue
        for address, where in inv.nic_addresses(nic):
            if where.partition("/")[0] in vnets and not where.lower().endswith("/gatewaysubnet"):
                nics.append((str(nic.get("name")), address))
    out.pick("nic", [n for n, _ in nics], f"NIC of a VM in {', '.join(vnets) or '?'}")
    out.probe_address = nics[0][1]
    if len(nics) > 1:
        out.choices["probe address"] = [f"{a} ({n})" for n, a in nics]
    reads = ControlPlane(arm)
    prefixes, how = _prefixes(reads, er_gw, vpn_gw)
    if not prefixes:
        raise DiscoveryError(
            f"discover: gateways {er_gw} and {vpn_gw} learn no on-premises prefix; bring BGP up "
            "on both paths first"
        )
    out.values["onprem_prefixes"] = prefixes
    out.notes.append(f"onprem_prefixes: {how}")
    out.links = links_of(reads, er_gw)
    out.values["peering_location"] = location
    out.values["fault_method"] = "circuit-link-failover" if out.links >= 2 else "disable-peering"
    out.choices["fault_method"] = fitting_methods(out)
    return out


def fitting_methods(found: Discovered) -> list[str]:
    """The registry's methods the circuit can run, with what each does."""
    locations = {loc for _, loc in found.circuits if loc}
    return [
        f"{m.name}: {m.summary}"
        for m in METHODS.values()
        if found.links >= m.min_links and len(locations) >= m.min_locations
    ]
