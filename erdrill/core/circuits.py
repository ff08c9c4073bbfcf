"""The ExpressRoute circuits a gateway connects to (`[[azure.circuits]]`), and what a site
failover simulation needs of them.

Microsoft's ExpressRoute resiliency validation (the ER gateway's site failover simulation)
moves traffic from the circuits in one peering location to those in another; it needs
circuits in at least two peering locations and never tests the VPN.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CircuitConfig", "site_failover_problem"]


class CircuitConfig(BaseModel):
    """One circuit connected to the ExpressRoute gateway, and its peering location."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: str = Field(min_length=1)
    peering_location: str = Field(min_length=1)


def site_failover_problem(
    peering_location: str | None, circuits: list[CircuitConfig]
) -> str | None:
    """Why a site failover simulation is refused for this config ("field: reason"), else None."""
    locations = sorted({c.peering_location for c in circuits})
    if len(locations) < 2:
        return (
            "circuits: fault_method 'site-failover-simulation' fails ExpressRoute over to "
            "circuits in another peering location (not to the VPN); describe circuits in two "
            "peering locations with [[azure.circuits]] name, peering_location"
            + (f" (only {locations[0]!r} given)" if locations else "")
        )
    if not peering_location:
        return (
            "peering_location: fault_method 'site-failover-simulation' needs the "
            f"peering_location to fail, one of {', '.join(locations)}"
        )
    if peering_location not in locations:
        return (
            f"peering_location: {peering_location!r} has no circuit in [[azure.circuits]]; use "
            f"one of {', '.join(locations)}"
        )
    return None
