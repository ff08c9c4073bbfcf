"""Network facts held in memory: the face without a lab (tests, `python -m armface`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from erdrill.armface.backend import ResourceBackend, ResourceNames
from erdrill.armface.inventory import Deployment, Inventory

__all__ = ["InMemoryBackend"]


class InMemoryBackend(Inventory, ResourceBackend):
    """Network facts held in memory: a circuit that is up, with ER preferred over the VPN."""

    def __init__(
        self, names: ResourceNames | None = None, onprem_prefixes: Iterable[str] = ()
    ) -> None:
        super().__init__(names)
        self.prefixes = list(onprem_prefixes) or ["10.1.0.0/16"]
        # learned over ExpressRoute only and not the drill's: another VNet, Global Reach
        self.other_er_prefixes: list[str] = []
        self.other_er_peers: list[dict[str, Any]] = []  # peers that are not an MSEE
        self.state = "Enabled"
        self.simulating: str | None = None
        self.tunnel_up = True
        self.msee = ["192.168.255.1", "192.168.255.5"]
        self.vpn_peer = "10.1.255.228"
        self.events: list[str] = []
        self.misconfig: set[str] = set()  # what the face shows wrongly (armface.inventory)
        self.circuits = [(self.names.circuit, self.names.peering_location)]
        self.msee_down: set[str] = set()  # MSEE peers whose link is down (the other carries)

    def deployment(self) -> Deployment:
        return Deployment(
            vnet="10.100.0.0/16",
            gateway_subnet="10.100.255.0/27",
            workload_subnets={"workloads": "10.100.1.0/24"},
            nic_address="10.100.1.4",
            er_addresses=["10.100.255.4"],
            vpn_addresses=["10.100.255.5"],
            asn=65515,
            onprem_prefixes=list(self.prefixes),
            onprem_asn=65010,
            onprem_bgp_address=self.vpn_peer,
            links=len(self.msee),
            circuits=list(self.circuits),
            misconfig=frozenset(self.misconfig),
        )

    @property
    def er_up(self) -> bool:
        return self.state == "Enabled" and self.simulating is None

    def _er_routes(self, local: str) -> list[dict[str, Any]]:
        return [
            {
                "localAddress": local,
                "network": p,
                "nextHop": hop,
                "sourcePeer": hop,
                "origin": "EBgp",
                "asPath": "12076-65010",
                "weight": 32769,
            }
            for p in [*self.prefixes, *self.other_er_prefixes]
            for hop in self.msee
        ]

    def _vpn_routes(self, local: str) -> list[dict[str, Any]]:
        return [
            {
                "localAddress": local,
                "network": p,
                "nextHop": self.vpn_peer,
                "sourcePeer": self.vpn_peer,
                "origin": "EBgp",
                "asPath": "65010",
                "weight": 32768,
            }
            for p in self.prefixes
        ]

    def effective_routes(self) -> list[dict[str, Any]]:
        routes: list[dict[str, Any]] = [
            {
                "source": "Default",
                "state": "Active",
                "addressPrefix": ["10.100.0.0/16"],
                "nextHopIpAddress": [],
                "nextHopType": "VnetLocal",
            },
        ]
        for p in self.prefixes:
            if self.er_up:
                hops, other = self.msee, [self.vpn_peer]
            elif self.tunnel_up:
                hops, other = [self.vpn_peer], []
            else:
                continue
            routes.append(
                {
                    "source": "VirtualNetworkGateway",
                    "state": "Active",
                    "addressPrefix": [p],
                    "nextHopIpAddress": hops,
                    "nextHopType": "VirtualNetworkGateway",
                }
            )
            if other:
                routes.append(
                    {
                        "source": "VirtualNetworkGateway",
                        "state": "Invalid",
                        "addressPrefix": [p],
                        "nextHopIpAddress": other,
                        "nextHopType": "VirtualNetworkGateway",
                    }
                )
        return routes

    def learned_routes(self, gateway: str) -> list[dict[str, Any]]:
        local = "10.100.255.4" if gateway == self.names.er_gateway else "10.100.255.5"
        routes: list[dict[str, Any]] = [
            {
                "localAddress": local,
                "network": "10.100.0.0/16",
                "nextHop": "",
                "sourcePeer": local,
                "origin": "Network",
                "asPath": "",
                "weight": 32768,
            }
        ]
        if self.er_up:
            routes += self._er_routes(local)
        if self.tunnel_up and gateway == self.names.vpn_gateway:
            routes += self._vpn_routes(local)
        return routes

    def bgp_peers(self, gateway: str) -> list[dict[str, Any]]:
        if gateway == self.names.er_gateway:
            return self.other_er_peers + [
                {
                    "localAddress": "10.100.255.4",
                    "neighbor": hop,
                    "asn": 12076,
                    "state": "Idle"
                    if hop in self.msee_down
                    else ("Connected" if self.er_up else "Connecting"),
                    "connectedDuration": "01:00:00" if self.er_up else "",
                    "routesReceived": len(self.prefixes) if self.er_up else 0,
                }
                for hop in self.msee
            ]
        return [
            {
                "localAddress": "10.100.255.5",
                "neighbor": self.vpn_peer,
                "asn": 65010,
                "state": "Connected" if self.tunnel_up else "Connecting",
                "connectedDuration": "01:00:00" if self.tunnel_up else "",
                "routesReceived": len(self.prefixes) if self.tunnel_up else 0,
            }
        ]

    def connection_status(self) -> str:
        return "Connected" if self.tunnel_up else "NotConnected"

    def peering_state(self) -> str:
        return self.state

    def set_peering_state(self, state: str) -> None:
        self.events.append(f"peering {state}")
        self.state = state

    def start_site_failover(self, peering_location: str) -> None:
        self.events.append(f"site failover start {peering_location}")
        self.simulating = peering_location

    def stop_site_failover(self) -> None:
        self.events.append("site failover stop")
        self.simulating = None
