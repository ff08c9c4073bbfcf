"""Fields of the earlier single-workload topology format and where each went.

Until the lab had one model for every shape (one or two circuits, VPN instances, subnets,
spokes), a topology named one address per role (`onprem.er_address`, `azure.workload`,
...). A file written for it is told that the format changed and the new field to use,
not that it misspelt a field.
"""

from __future__ import annotations

__all__ = ["LEGACY_FIELDS", "legacy_field"]

LEGACY_FIELDS: dict[str, str] = {
    "onprem.host": "onprem.hosts (name: address, e.g. {onprem-host: 192.168.10.10})",
    "onprem.er_address": "expressroute.circuits[].primary.peering (the /30; the CE takes .1)",
    "onprem.vpn_outer": "vpn.underlay (tunnel k's outer /30, the device first)",
    "onprem.vpn_bgp": "vpn.bgp_range (tunnel k's APIPA /30, the device first)",
    "msee": "expressroute (asn, and each link's msee, peering and gateway_link)",
    "msee.asn": "expressroute.asn",
    "msee.ce_address": "expressroute.circuits[].primary.peering (the /30; the MSEE takes .2)",
    "msee.gateway_link": "expressroute.circuits[].primary.gateway_link",
    "azure.er_gateway_link": "expressroute.circuits[].primary.gateway_link (the gateway: .2)",
    "azure.vpn_gateway": "vpn.instances (name: address, e.g. {vpn-gateway: 10.1.255.229})",
    "azure.vpn_outer": "vpn.underlay (tunnel k's outer /30, the gateway second)",
    "azure.vpn_bgp": "vpn.bgp_range (tunnel k's APIPA /30, the gateway second)",
    "azure.workload_subnet_gateway": "azure.subnets.<name>.prefix (the VNet router takes .1)",
    "azure.workload": "azure.subnets.<name>.hosts (e.g. {workload: 10.1.1.4})",
}


def legacy_field(loc: str) -> str | None:
    """The problem for a field of the earlier format (None if `loc` is not one)."""
    new = LEGACY_FIELDS.get(loc)
    if new is None:
        return None
    return f"the topology format changed: {loc} is now {new}; see lab/topologies/default.yaml"
