"""Which scenarios fit the configured circuit: the method, its links, its peering locations.

A scenario says what it drills by tag (`SCENARIO_TAGS`): `leaves_expressroute` (the
documented plan: ExpressRoute stops, the VPN carries), `circuit_link_failover`,
`site_failover_simulation`. `unfit_reason` says, in one line, why a scenario does not fit
the config (its method is not the configured one, the config has one peering location);
`links_reason` reads the ER gateway's Microsoft edge peers to tell whether the circuit has
the two links a link failover test needs. Both come from the one registry of fault
methods (core.fault_methods).
"""

from __future__ import annotations

from collections.abc import Iterable

from erdrill.core.config import AzureConfig
from erdrill.core.fault_methods import METHODS, method
from erdrill.targets.azure.reads import ControlPlane
from erdrill.targets.classify import MICROSOFT_ASN

__all__ = ["SCENARIO_TAGS", "links_of", "links_reason", "locations_of", "unfit_reason"]

SCENARIO_TAGS = {
    "leaves_expressroute": "a method that stops ExpressRoute (the VPN carries the traffic)",
    "circuit_link_failover": "Microsoft's circuit link failover test (one circuit, two links)",
    "site_failover_simulation": "the site failover simulation (two peering locations)",
}


def locations_of(cfg: AzureConfig) -> set[str]:
    """The peering locations the config names (its circuits and peering_location)."""
    found = {c.peering_location for c in cfg.circuits}
    if cfg.peering_location:
        found.add(cfg.peering_location)
    return found


def unfit_reason(cfg: AzureConfig, tags: Iterable[str]) -> str | None:
    """Why a scenario with these tags does not fit the config, else None."""
    configured = method(cfg.fault_method)
    for tag in tags:
        if tag == "leaves_expressroute" and not configured.leaves_expressroute:
            return (
                f"fault_method {cfg.fault_method} keeps traffic on ExpressRoute; this scenario "
                "needs one that stops it (operator, disable-peering, command)"
            )
        name = tag.replace("_", "-")
        if name not in METHODS or name == cfg.fault_method:
            continue
        spec = METHODS[name]
        locations = locations_of(cfg)
        if spec.min_locations > 1 and len(locations) < spec.min_locations:
            return (
                f"{name} needs circuits in {spec.min_locations} peering locations; the config "
                f"names {len(locations)} ({', '.join(sorted(locations)) or 'none'})"
            )
        return (
            f"{name} is not the configured fault_method ({cfg.fault_method}); set it to drill this"
        )
    return None


def links_of(reads: ControlPlane, er_gateway: str = "") -> int:
    """How many links of the circuit carry BGP: the ER gateway's distinct MSEE neighbours."""
    peers = reads.bgp_peers(er_gateway or reads.cfg.er_gateway)
    return len(
        {p.neighbor for p in peers if p.asn == int(MICROSOFT_ASN) and p.state == "Connected"}
    )


def links_reason(reads: ControlPlane, fault_method: str) -> str | None:
    """Why the circuit lacks the links the method needs, else None."""
    need = method(fault_method).min_links
    have = links_of(reads)
    if have < need:
        return (
            f"{fault_method} needs a circuit with {need} links carrying BGP; circuit "
            f"{reads.cfg.circuit} has {have}"
        )
    return None
