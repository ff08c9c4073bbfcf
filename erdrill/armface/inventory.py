"""The face's resource inventory: what `erdrill discover` and the architecture checks read.

The virtual network and its subnets (GatewaySubnet included), both gateways (type, SKU,
VPN type, BGP settings, their ipConfigurations in the GatewaySubnet), the ExpressRoute and
VPN connections, the local network gateway, the circuits (SKU, peering location), the
NICs (on a VM, in a workload subnet). Bodies follow the 2025-07-01 swagger
(virtualNetworkGateway.json, expressRouteCircuit.json, networkInterface.json); the
virtual network has no stored swagger (virtualNetwork.json is not among the reference
files) and follows Microsoft's REST reference.

A backend supplies the facts as a `Deployment` (armface.memory from memory,
armface.lab_backend from the topology). `Deployment.misconfig` makes the face show a
misconfigured deployment while the network behind it stays healthy: "gateway-subnet-28"
(a /28 GatewaySubnet), "policy-based-vpn" (a PolicyBased, Basic VPN gateway),
"vpn-not-connected" (the VPN connection NotConnected); the in-memory face also knows
"gateways-apart" (the VPN gateway in a workload subnet) and "vpn-without-bgp" (no BGP
on the VPN connection, a local network gateway covering only the first prefix's half).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from erdrill.armface.backend import Call, Reply, ResourceNames

__all__ = ["Deployment", "Inventory", "permissions_reply"]

VNET = "hub-vnet"
LOCAL_GATEWAY = "onprem-lng"
VM = "workload-vm"


@dataclass(frozen=True)
class Deployment:
    """The facts of an ExpressRoute + VPN deployment the face describes."""

    vnet: str
    gateway_subnet: str
    workload_subnets: dict[str, str]  # name -> prefix
    nic_address: str
    er_addresses: list[str]
    vpn_addresses: list[str]
    asn: int
    onprem_prefixes: list[str]
    onprem_asn: int
    onprem_bgp_address: str
    links: int  # 1 or 2
    circuits: list[tuple[str, str]]  # (name, peering location), the face's circuit first
    misconfig: frozenset[str] = field(default_factory=frozenset)


def _sub(id_: str) -> dict[str, Any]:
    return {"id": id_}


class Inventory:
    """ARM handlers for the inventory (mixed into the face's backends)."""

    names: ResourceNames

    def deployment(self) -> Deployment:
        raise NotImplementedError

    def connection_status(self) -> str:
        raise NotImplementedError

    def _missing(self, kind: str, name: str) -> Reply:  # ResourceBackend's (later in the MRO)
        return super()._missing(kind, name)  # type: ignore[misc,no-any-return]

    # --- ids and bodies ---------------------------------------------------------------
    def _subnet_id(self, name: str) -> str:
        return self.names.resource_id("virtualNetworks", VNET, "subnets", name)

    def _gateway_subnet(self, d: Deployment) -> str:
        if "gateway-subnet-28" not in d.misconfig:
            return d.gateway_subnet
        net = ipaddress.IPv4Network(d.gateway_subnet)
        return str(next(net.subnets(new_prefix=28)))

    def _vnet_body(self) -> dict[str, Any]:
        d, n = self.deployment(), self.names
        nic_config = n.resource_id("networkInterfaces", n.nic, "ipConfigurations", "ipconfig1")
        subnets = [
            {
                "id": self._subnet_id("GatewaySubnet"),
                "name": "GatewaySubnet",
                "properties": {"addressPrefix": self._gateway_subnet(d)},
            }
        ] + [
            {
                "id": self._subnet_id(name),
                "name": name,
                "properties": {"addressPrefix": prefix}
                | ({"ipConfigurations": [_sub(nic_config)]} if i == 0 else {}),
            }
            for i, (name, prefix) in enumerate(d.workload_subnets.items())
        ]
        return {
            "id": n.resource_id("virtualNetworks", VNET),
            "name": VNET,
            "type": "Microsoft.Network/virtualNetworks",
            "location": n.location,
            "properties": {
                "addressSpace": {"addressPrefixes": [d.vnet]},
                "subnets": subnets,
                "provisioningState": "Succeeded",
            },
        }

    def _gateway_body(self, name: str) -> dict[str, Any] | None:
        d, n = self.deployment(), self.names
        subnet = self._subnet_id("GatewaySubnet")
        if name == n.vpn_gateway and "gateways-apart" in d.misconfig:
            subnet = self._subnet_id(next(iter(d.workload_subnets)))
        if name == n.er_gateway:
            kind, addresses = "ExpressRoute", d.er_addresses
            sku = "ErGw1AZ"
        elif name == n.vpn_gateway:
            kind, addresses = "Vpn", d.vpn_addresses
            sku = "Basic" if "policy-based-vpn" in d.misconfig else "VpnGw2AZ"
        else:
            return None
        policy = kind == "Vpn" and "policy-based-vpn" in d.misconfig
        gw_id = n.resource_id("virtualNetworkGateways", name)
        configs = [f"{gw_id}/ipConfigurations/ipconfig{i}" for i in range(1, len(addresses) + 1)]
        props: dict[str, Any] = {
            "gatewayType": kind,
            "vpnType": "PolicyBased" if policy else "RouteBased",
            "sku": {"name": sku, "tier": sku, "capacity": 2},
            "activeActive": len(addresses) > 1,
            "enableBgp": kind == "Vpn" and not policy,
            "ipConfigurations": [
                {
                    "id": c,
                    "name": c.rsplit("/", 1)[1],
                    "properties": {
                        "privateIPAddress": a,
                        "privateIPAllocationMethod": "Dynamic",
                        "subnet": _sub(subnet),
                    },
                }
                for c, a in zip(configs, addresses, strict=True)
            ],
            "bgpSettings": {
                "asn": d.asn,
                "bgpPeeringAddress": ",".join(addresses),
                "peerWeight": 0,
                "bgpPeeringAddresses": [
                    {"ipconfigurationId": c, "defaultBgpIpAddresses": [a]}
                    | {"customBgpIpAddresses": [], "tunnelIpAddresses": []}
                    for c, a in zip(configs, addresses, strict=True)
                ],
            },
            "provisioningState": "Succeeded",
        }
        body = {"id": gw_id, "name": name, "type": "Microsoft.Network/virtualNetworkGateways"}
        return body | {"location": n.location, "properties": props}

    def _er_connection_body(self) -> dict[str, Any]:
        n = self.names
        name = f"{n.circuit}-connection"
        return {
            "id": n.resource_id("connections", name),
            "name": name,
            "type": "Microsoft.Network/connections",
            "location": n.location,
            "properties": {
                "virtualNetworkGateway1": {
                    "id": n.resource_id("virtualNetworkGateways", n.er_gateway),
                    "properties": {},
                },
                "peer": _sub(n.resource_id("expressRouteCircuits", n.circuit)),
                "connectionType": "ExpressRoute",
                "routingWeight": 0,
                "connectionStatus": "Connected",
                "provisioningState": "Succeeded",
            },
        }

    def _connection_body(self) -> dict[str, Any]:
        """The VPN connection: ResourceBackend's, with the local gateway and BGP setting."""
        d, n = self.deployment(), self.names
        body: dict[str, Any] = super()._connection_body()  # type: ignore[misc]
        props = body["properties"]
        props["localNetworkGateway2"] = {
            "id": n.resource_id("localNetworkGateways", LOCAL_GATEWAY),
            "properties": {},
        }
        props["enableBgp"] = not d.misconfig & {"policy-based-vpn", "vpn-without-bgp"}
        if "vpn-not-connected" in d.misconfig:
            props["connectionStatus"] = "NotConnected"
        return body

    def _local_gateway_body(self) -> dict[str, Any]:
        d, n = self.deployment(), self.names
        space = list(d.onprem_prefixes)
        if "vpn-without-bgp" in d.misconfig:  # half of the first prefix only
            first = ipaddress.ip_network(space[0])
            space = [str(next(first.subnets()))]
        return {
            "id": n.resource_id("localNetworkGateways", LOCAL_GATEWAY),
            "name": LOCAL_GATEWAY,
            "type": "Microsoft.Network/localNetworkGateways",
            "location": n.location,
            "properties": {
                "localNetworkAddressSpace": {"addressPrefixes": space},
                "gatewayIpAddress": "198.51.100.1",
                "bgpSettings": {"asn": d.onprem_asn, "bgpPeeringAddress": d.onprem_bgp_address},
                "provisioningState": "Succeeded",
            },
        }

    def _circuit_bodies(self) -> list[dict[str, Any]]:
        d, n = self.deployment(), self.names
        out = []
        for name, location in d.circuits:
            out.append(
                {
                    "id": n.resource_id("expressRouteCircuits", name),
                    "name": name,
                    "type": "Microsoft.Network/expressRouteCircuits",
                    "location": n.location,
                    "sku": {"name": "Standard_MeteredData", "tier": "Standard"}
                    | {"family": "MeteredData"},
                    "properties": {
                        "circuitProvisioningState": "Enabled",
                        "serviceProviderProvisioningState": "Provisioned",
                        "serviceProviderProperties": {
                            "serviceProviderName": "lab provider",
                            "peeringLocation": location,
                            "bandwidthInMbps": 1000,
                        },
                        "peerings": [
                            {
                                "id": n.resource_id(
                                    "expressRouteCircuits", name, "peerings", n.peering
                                ),
                                "name": n.peering,
                                "properties": {"peeringType": "AzurePrivatePeering"},
                            }
                        ],
                        "provisioningState": "Succeeded",
                    },
                }
            )
        return out

    def _nic_body(self) -> dict[str, Any]:
        d, n = self.deployment(), self.names
        first = next(iter(d.workload_subnets))
        nic_id = n.resource_id("networkInterfaces", n.nic)
        vm = (
            f"/subscriptions/{n.subscription_id}/resourceGroups/{n.resource_group}"
            f"/providers/Microsoft.Compute/virtualMachines/{VM}"
        )
        return {
            "id": nic_id,
            "name": n.nic,
            "type": "Microsoft.Network/networkInterfaces",
            "location": n.location,
            "properties": {
                "ipConfigurations": [
                    {
                        "id": f"{nic_id}/ipConfigurations/ipconfig1",
                        "name": "ipconfig1",
                        "properties": {
                            "privateIPAddress": d.nic_address,
                            "privateIPAllocationMethod": "Dynamic",
                            "subnet": _sub(self._subnet_id(first)),
                            "primary": True,
                        },
                    }
                ],
                "virtualMachine": _sub(vm),
                "provisioningState": "Succeeded",
            },
        }

    # --- handlers ---------------------------------------------------------------------
    def _VirtualNetworks_List(self, call: Call) -> Reply:
        return Reply(200, {"value": [self._vnet_body()]})

    def _VirtualNetworks_Get(self, call: Call) -> Reply:
        name = call.params.get("virtualNetworkName", "")
        if name != VNET:
            return self._missing("virtualNetworks", name)
        return Reply(200, self._vnet_body())

    def _VirtualNetworkGateways_List(self, call: Call) -> Reply:
        bodies = [self._gateway_body(g) for g in (self.names.er_gateway, self.names.vpn_gateway)]
        return Reply(200, {"value": [b for b in bodies if b is not None]})

    def _VirtualNetworkGateways_Get(self, call: Call) -> Reply:
        name = call.params.get("virtualNetworkGatewayName", "")
        body = self._gateway_body(name)
        return (
            Reply(200, body) if body is not None else self._missing("virtualNetworkGateways", name)
        )

    def _VirtualNetworkGatewayConnections_List(self, call: Call) -> Reply:
        return Reply(200, {"value": [self._er_connection_body(), self._connection_body()]})

    def _LocalNetworkGateways_List(self, call: Call) -> Reply:
        return Reply(200, {"value": [self._local_gateway_body()]})

    def _LocalNetworkGateways_Get(self, call: Call) -> Reply:
        name = call.params.get("localNetworkGatewayName", "")
        if name != LOCAL_GATEWAY:
            return self._missing("localNetworkGateways", name)
        return Reply(200, self._local_gateway_body())

    def _ExpressRouteCircuits_List(self, call: Call) -> Reply:
        return Reply(200, {"value": self._circuit_bodies()})

    def _ExpressRouteCircuits_Get(self, call: Call) -> Reply:
        name = call.params.get("circuitName", "")
        found = [c for c in self._circuit_bodies() if c["name"] == name]
        return Reply(200, found[0]) if found else self._missing("expressRouteCircuits", name)

    def _NetworkInterfaces_List(self, call: Call) -> Reply:
        return Reply(200, {"value": [self._nic_body()]})


def permissions_reply(not_actions: list[str]) -> Reply:
    """`Permissions_ListForResourceGroup`: everything but `not_actions` (the face's identity)."""
    return Reply(
        200,
        {
            "value": [
                {
                    "actions": ["*"],
                    "notActions": list(not_actions),
                    "dataActions": [],
                    "notDataActions": [],
                }
            ]
        },
    )
