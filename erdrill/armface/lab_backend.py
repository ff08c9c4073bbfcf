"""The face's answers derived live from the lab: BIRD's routes and sessions, the IPsec SA,
the VNet router's FIB, and the lab's fault for a disabled peering.

Mapping (lab -> ARM):
- learned routes of er-gateway / vpn-gateway: BIRD `show route all` in that node; the AS
  path is written ARM's way ("12076-65010"), origin EBgp/IBgp (Network for VNet prefixes),
  weight 32769 for routes through the lab's MSEE AS (12076, as Microsoft's) and 32768
  otherwise, as Azure shows them.
- BGP peer status: the node's BGP sessions (`show protocols all`), established -> Connected.
- effective routes of the workload NIC: the VNet router's BGP routes; a route to the ER
  gateway shows the MSEE addresses as next hops, a route to the VPN gateway its address.
- VPN connection status: the IPsec SA (Connected / NotConnected).
- peering state: Disabled while the lab's "peering-disabled" fault is active; a PUT with
  state Disabled injects that fault (the MSEE shuts its BGP sessions), Enabled undoes it.
- site failover simulation: the same fault, started and stopped.
- the gateways' nodes come from the topology: the ER gateway's peers are every MSEE, the
  VPN gateway's routes and peers are every instance's (active-active: two).
- circuit links (route tables per device path, the gateways' BGP settings, the circuit
  link failover test): armface.link_failover.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any, Protocol

from erdrill.armface.backend import ResourceBackend, ResourceNames
from erdrill.armface.inventory import Deployment, Inventory
from erdrill.armface.link_failover import FACE, CircuitLinks
from erdrill.core.paths import PathKind
from erdrill.core.routes import RouteTable

__all__ = ["BirdRoute", "LabBackend", "LabLike", "parse_bird_protocol", "parse_bird_routes"]

PEERING_FAULT = "peering-disabled"
IBGP = {"vnet"}  # every gateway node's iBGP session to the VNet router


class LabLike(Protocol):
    """What LabBackend needs from lab.lab.Lab."""

    topology: Any

    def birdc(self, node: str, command: str) -> str: ...
    def bgp_sessions(self) -> dict[str, str]: ...
    def ipsec_state(self) -> str: ...
    def route_tables(self) -> list[RouteTable]: ...
    def active_faults(self) -> list[str]: ...
    def inject(self, name: str, *, by: str = ...) -> object: ...
    def undo(self, kind: str) -> None: ...


@dataclass(frozen=True, slots=True)
class BirdRoute:
    prefix: str
    protocol: str
    next_hop: str
    as_path: list[str]
    best: bool
    bgp: bool


_HEADER = re.compile(r"^(?P<prefix>\S+)?\s+\w+\s+\[(?P<proto>\S+)\s[^\]]*\](?P<rest>.*)$")


def parse_bird_routes(output: str) -> list[BirdRoute]:
    """Routes from BIRD 2 `show route all` output."""
    routes: list[BirdRoute] = []
    cur: dict[str, Any] | None = None
    prefix = ""

    def flush() -> None:
        if cur is not None:
            routes.append(BirdRoute(**cur))

    for line in output.splitlines():
        if not line.strip() or line.startswith(("Table ", "BIRD ")):
            continue
        if not line.startswith("\t"):
            m = _HEADER.match(line)
            if m is None:
                continue
            flush()
            prefix = m["prefix"] or prefix
            cur = {
                "prefix": prefix,
                "protocol": m["proto"],
                "next_hop": "",
                "as_path": [],
                "best": " * " in f"{m['rest']} ",
                "bgp": False,
            }
            continue
        if cur is None:
            continue
        text = line.strip()
        if text.startswith("via "):
            cur["next_hop"] = text.split()[1]
        elif text.startswith("Type:"):
            cur["bgp"] = "BGP" in text
        elif text.startswith("BGP.as_path:"):
            cur["as_path"] = text.split(":", 1)[1].split()
    flush()
    return routes


def parse_bird_protocol(output: str) -> dict[str, str]:
    """Neighbor address, AS and imported route count from `show protocols all NAME`."""
    out: dict[str, str] = {}
    for line in output.splitlines():
        text = line.strip()
        if text.startswith("Neighbor address:"):
            out["neighbor"] = text.split(":", 1)[1].strip()
        elif text.startswith("Neighbor AS:"):
            out["asn"] = text.split(":", 1)[1].strip()
        elif text.startswith("Routes:"):
            m = re.search(r"(\d+) imported", text)
            out["routes"] = m[1] if m else "0"
    return out


_ARM_STATE = {"established": "Connected", "disabled": "Stopped", "down": "Idle"}


class LabBackend(CircuitLinks, Inventory, ResourceBackend):
    """Network facts read live from a running lab (see the module docstring for the map)."""

    lab: LabLike

    def __init__(self, lab: LabLike, names: ResourceNames | None = None) -> None:
        super().__init__(names)
        self.lab = lab
        self.simulating: str | None = None
        self._link_tests = {}
        t = lab.topology
        self._gateway_nodes: dict[str, dict[str, str]] = {  # gateway -> node -> its address
            self.names.er_gateway: {t.azure.er_gateway_node: str(t.azure.er_gateway)},
            self.names.vpn_gateway: {n: str(a) for n, a in t.vpn.instances.items()},
        }

    def deployment(self) -> Deployment:
        """The topology as Azure would describe it (armface.inventory)."""
        t = self.lab.topology
        hosts = [h for s in t.azure.subnets.values() for h in s.hosts.values()]
        first = t.expressroute.circuits[0]
        return Deployment(
            vnet=str(t.azure.vnet),
            gateway_subnet=str(t.azure.gateway_subnet),
            workload_subnets={k: str(s.prefix) for k, s in t.azure.subnets.items()},
            nic_address=str(hosts[0]),
            er_addresses=[str(t.azure.er_gateway)],
            vpn_addresses=[str(a) for a in t.vpn.instances.values()],
            asn=int(t.azure.asn),
            onprem_prefixes=[str(p) for p in t.onprem.advertise.vpn],
            onprem_asn=int(t.onprem.asn),
            onprem_bgp_address=str(t.onprem.routers[next(iter(t.onprem.routers))]),
            links=2 if first.secondary is not None else 1,
            circuits=[(self.names.circuit, self.names.peering_location)]
            + [(c.name, c.location) for c in t.expressroute.circuits[1:]],
            misconfig=frozenset(t.azure.face_misconfig),
        )

    def bird_routes(self, node: str) -> list[BirdRoute]:
        return parse_bird_routes(self.lab.birdc(node, "show route all"))

    def _vnet(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.lab.topology.azure.vnet)

    def learned_routes(self, gateway: str) -> list[dict[str, Any]]:
        vnet = self._vnet()
        msee_asn = str(self.lab.topology.expressroute.asn)  # 12076 as in Azure, unless renamed
        out = []
        for node, local in self._gateway_nodes[gateway].items():
            for r in parse_bird_routes(self.lab.birdc(node, "show route all")):
                if not r.bgp:
                    continue
                try:
                    inside = ipaddress.IPv4Network(r.prefix).subnet_of(vnet)
                except ValueError:
                    inside = False
                origin = "Network" if inside else ("IBgp" if r.protocol in IBGP else "EBgp")
                out.append(
                    {
                        "localAddress": local,
                        "network": r.prefix,
                        "nextHop": r.next_hop,
                        "sourcePeer": r.next_hop or local,
                        "origin": origin,
                        "asPath": "-".join(r.as_path),
                        "weight": 32769 if msee_asn in r.as_path else 32768,
                    }
                )
        return out

    def bgp_peers(self, gateway: str) -> list[dict[str, Any]]:
        sessions = self.lab.bgp_sessions()
        peers = []
        for node, local in self._gateway_nodes[gateway].items():
            for key, state in sorted(sessions.items()):
                owner, _, proto = key.partition("/")
                if owner != node:
                    continue
                info = parse_bird_protocol(self.lab.birdc(node, f"show protocols all {proto}"))
                arm = _ARM_STATE.get(state, "Connecting")
                peers.append(
                    {
                        "localAddress": local,
                        "neighbor": info.get("neighbor", proto),
                        "asn": int(info.get("asn", "0") or 0),
                        "state": arm,
                        "connectedDuration": "",
                        "routesReceived": int(info.get("routes", "0")) if arm == "Connected" else 0,
                    }
                )
        return peers

    def effective_routes(self) -> list[dict[str, Any]]:
        topo = self.lab.topology
        routes: list[dict[str, Any]] = [
            {
                "source": "Default",
                "state": "Active",
                "addressPrefix": [str(self._vnet())],
                "nextHopIpAddress": [],
                "nextHopType": "VnetLocal",
            },
        ]
        vnet, msee_asn = topo.azure.vnet_node, str(topo.expressroute.asn)
        vnet_table = next((t for t in self.lab.route_tables() if t.owner == vnet), None)
        if vnet_table is None:
            return routes
        er_learned = self.learned_routes(self.names.er_gateway)
        for e in vnet_table.entries:
            if e.path is PathKind.EXPRESSROUTE:
                hops = sorted(
                    {
                        lr["nextHop"]
                        for lr in er_learned
                        if lr["network"] == e.prefix and msee_asn in lr["asPath"].split("-")
                    }
                )
                hops = hops or [topo.azure.er_gateway]
            else:
                hops = [e.next_hop]
            routes.append(
                {
                    "source": "VirtualNetworkGateway",
                    "state": "Active" if e.active else "Invalid",
                    "addressPrefix": [e.prefix],
                    "nextHopIpAddress": hops,
                    "nextHopType": "VirtualNetworkGateway",
                }
            )
        return routes

    def connection_status(self) -> str:
        return "Connected" if self.lab.ipsec_state() == "up" else "NotConnected"

    def peering_state(self) -> str:
        return "Disabled" if PEERING_FAULT in self.lab.active_faults() else "Enabled"

    def set_peering_state(self, state: str) -> None:
        active = PEERING_FAULT in self.lab.active_faults()
        if state == "Disabled" and not active:
            self.lab.inject(PEERING_FAULT, by=FACE)
        elif state == "Enabled" and active:
            self.lab.undo(PEERING_FAULT)

    def start_site_failover(self, peering_location: str) -> None:
        self.simulating = peering_location
        self.set_peering_state("Disabled")

    def stop_site_failover(self) -> None:
        self.simulating = None
        self.set_peering_state("Enabled")

    def peering_properties(self) -> dict[str, Any]:
        topo = self.lab.topology
        circuit = topo.expressroute.circuits[0]
        ce = circuit.primary.peering
        return {
            "peeringType": "AzurePrivatePeering",
            "azureASN": int(topo.expressroute.asn),
            "peerASN": int(topo.onprem.asn),
            "primaryPeerAddressPrefix": ce,
            "secondaryPeerAddressPrefix": circuit.secondary.peering if circuit.secondary else ce,
            "vlanId": 100,
        }
