"""The Azure fault methods, each defined once: what it needs, does, may disrupt and leaves.

One registry (`METHODS`) that the drill config (`[azure] fault_method`), the Azure target's
fault classes (targets.azure.faults, targets.azure.link_failover), the journal repair's
"left in place" text (targets.azure.face), the scenarios that fit a circuit
(targets.azure.fit) and the least-privilege role (`erdrill role`, targets.azure.role) all
read. A method's ARM actions are the ones its calls need, named as in Microsoft's
published operations list ("Azure resource provider operations", Microsoft.Network and
Microsoft.Authorization sections, learn.microsoft.com/azure/role-based-access-control/
resource-provider-operations). Names marked `UNCONFIRMED_ACTIONS` were not found in the
copy of that list we could read: they follow the operation's REST path, as the listed
`/action` operations do (getLearnedRoutes/action for POST .../getLearnedRoutes).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "METHODS",
    "METHOD_NAMES",
    "STEADY_STATE_READS",
    "UNCONFIRMED_ACTIONS",
    "FaultMethodSpec",
    "method",
]

_NET = "Microsoft.Network"

STEADY_STATE_READS: tuple[str, ...] = (
    f"{_NET}/networkInterfaces/read",
    f"{_NET}/networkInterfaces/effectiveRouteTable/action",
    f"{_NET}/virtualNetworkGateways/read",
    f"{_NET}/virtualNetworkGateways/getLearnedRoutes/action",
    f"{_NET}/virtualNetworkGateways/getBgpPeerStatus/action",
    f"{_NET}/connections/read",
    f"{_NET}/expressRouteCircuits/read",
    f"{_NET}/expressRouteCircuits/peerings/read",
    f"{_NET}/virtualNetworks/read",  # the architecture checks: GatewaySubnet
    f"{_NET}/localNetworkGateways/read",  # the architecture checks: on-premises prefixes
)
"""What every drill reads (the steady state, the architecture checks, the return path)."""

_SITE_DETAILS = f"{_NET}/virtualNetworkGateways/getFailoverAllTestsDetails/action"
_LINK_DETAILS = f"{_NET}/expressRouteCircuits/getCircuitLinkFailoverAllTestsDetails/action"
_ROUTES_TABLE = f"{_NET}/expressRouteCircuits/peerings/routeTables/read"

UNCONFIRMED_ACTIONS = frozenset(
    {
        _SITE_DETAILS,
        _LINK_DETAILS,
        f"{_NET}/virtualNetworkGateways/startSiteFailoverTest/action",
        f"{_NET}/virtualNetworkGateways/stopSiteFailoverTest/action",
        f"{_NET}/expressRouteCircuits/startCircuitLinkFailoverTest/action",
        f"{_NET}/expressRouteCircuits/stopCircuitLinkFailoverTest/action",
    }
)


@dataclass(frozen=True)
class FaultMethodSpec:
    """One way to take ExpressRoute (or a part of it) away from the Azure side."""

    name: str
    summary: str
    leaves_expressroute: bool  # traffic is expected on the VPN during the fault
    disruptive: bool  # writes to Azure or runs the operator's commands
    reads: tuple[str, ...]  # ARM actions beyond STEADY_STATE_READS, --plan included
    writes: tuple[str, ...]  # ARM actions only a real (not --plan) drill needs
    needs: str  # the config it needs besides [azure], in words
    min_links: int  # links the circuit must have (2: both, for a link failover test)
    min_locations: int  # peering locations of the configured circuits
    left_in_place: str  # what a dead drill left, format fields from the journal entry

    @property
    def plan_actions(self) -> tuple[str, ...]:
        """Every action of a --plan or steady-state drill with this method (read-only)."""
        return tuple(dict.fromkeys((*STEADY_STATE_READS, *self.reads)))

    @property
    def actions(self) -> tuple[str, ...]:
        """Every action a real drill with this method needs."""
        return tuple(dict.fromkeys((*self.plan_actions, *self.writes)))


METHODS: dict[str, FaultMethodSpec] = {
    m.name: m
    for m in (
        FaultMethodSpec(
            "operator",
            "ask the provider to stop ExpressRoute; wait for the ER gateway's BGP peers",
            leaves_expressroute=True,
            disruptive=False,
            reads=(),
            writes=(),
            needs="operator_wait_s (optional)",
            min_links=1,
            min_locations=1,
            left_in_place="the provider was asked to stop ExpressRoute and not to restore it",
        ),
        FaultMethodSpec(
            "disable-peering",
            "set the circuit's private peering Disabled, later Enabled",
            leaves_expressroute=True,
            disruptive=True,
            reads=(),
            writes=(f"{_NET}/expressRouteCircuits/peerings/write",),
            needs="peering = AzurePrivatePeering",
            min_links=1,
            min_locations=1,
            left_in_place="{where} is still Disabled",
        ),
        FaultMethodSpec(
            "site-failover-simulation",
            "ExpressRoute resiliency validation: fail one peering location over to another",
            leaves_expressroute=False,
            disruptive=True,
            reads=(_SITE_DETAILS,),
            writes=(
                f"{_NET}/virtualNetworkGateways/startSiteFailoverTest/action",
                f"{_NET}/virtualNetworkGateways/stopSiteFailoverTest/action",
            ),
            needs="peering_location and [[azure.circuits]] in two peering locations",
            min_links=1,
            min_locations=2,
            left_in_place="the site failover simulation on gateway {er_gateway} still runs",
        ),
        FaultMethodSpec(
            "command",
            "run the operator's own inject and undo commands",
            leaves_expressroute=True,
            disruptive=True,
            reads=(),
            writes=(),
            needs="[azure.fault_commands] inject, undo",
            min_links=1,
            min_locations=1,
            left_in_place="the operator's fault command was not undone (run its undo command)",
        ),
        FaultMethodSpec(
            "circuit-link-failover",
            "Microsoft's circuit link failover test on one link of the circuit",
            leaves_expressroute=False,
            disruptive=True,
            reads=(_LINK_DETAILS, _ROUTES_TABLE),
            writes=(
                f"{_NET}/expressRouteCircuits/startCircuitLinkFailoverTest/action",
                f"{_NET}/expressRouteCircuits/stopCircuitLinkFailoverTest/action",
            ),
            needs="[azure.link_failover] link, category (optional) and a circuit with two links",
            min_links=2,
            min_locations=1,
            left_in_place=(
                "the circuit link failover test ({category} on the {link_type} link) on "
                "circuit {circuit} still runs"
            ),
        ),
    )
}
METHOD_NAMES: tuple[str, ...] = tuple(METHODS)


def method(name: str) -> FaultMethodSpec:
    """The registry entry of a fault method, else ValueError naming the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(
            f"{name!r} is not a fault method; use one of {', '.join(METHOD_NAMES)}"
        ) from None
