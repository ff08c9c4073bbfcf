"""How the reference lab's paths look to a probe from the on-premises host (lab-facts.md)."""

from __future__ import annotations

__all__ = ["FORWARD_HOPS", "REPLY_TTLS"]

# Reply TTLs the on-prem host sees from the workload (64 at the workload): four routers
# back over ExpressRoute (vnet, er-gateway, msee, onprem-edge), three over the VPN.
REPLY_TTLS = {"expressroute": 60, "vpn": 61}
# Traceroute hops from the on-prem host to the workload: 5 over ExpressRoute, 4 over the VPN.
FORWARD_HOPS = {"expressroute": 5, "vpn": 4}
