"""What the Azure face serves: a Backend answers one ARM call at a time.

The server (armface.server) parses the HTTP request into a `Call` named by the swagger
operationId and turns the `Reply` into HTTP, adding ARM's long-running-operation
behaviour. `ResourceBackend` does the ARM bookkeeping (resource names, 404s, response
shapes) and leaves the network facts to a subclass: `armface.memory.InMemoryBackend`
holds them in memory, `armface.lab_backend.LabBackend` reads them live from the lab.
`ScriptedBackend` puts scripted replies (errors, throttling, odd shapes, never-ending
operations) in front of any backend.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from erdrill.core.face_profile import WRITE_OPERATIONS

__all__ = [
    "LRO_OPERATIONS",
    "WRITE_OPERATIONS",
    "Backend",
    "Call",
    "Reply",
    "ResourceBackend",
    "ResourceNames",
    "ScriptedBackend",
    "error_reply",
]

# Operations answered as long-running operations (202/201 + Azure-AsyncOperation).
LRO_OPERATIONS = frozenset(
    {
        "NetworkInterfaces_GetEffectiveRouteTable",
        "VirtualNetworkGateways_GetLearnedRoutes",
        "VirtualNetworkGateways_GetBgpPeerStatus",
        "VirtualNetworkGateways_GetAdvertisedRoutes",
        "VirtualNetworkGateways_StartExpressRouteSiteFailoverSimulation",
        "VirtualNetworkGateways_StopExpressRouteSiteFailoverSimulation",
        "VirtualNetworkGateways_GetFailoverAllTestDetails",
        "ExpressRouteCircuitPeerings_CreateOrUpdate",
        "NetworkWatchers_GetNextHop",
        "ExpressRouteCircuits_ListRoutesTable",
        "ExpressRouteCircuits_StartCircuitLinkFailoverTest",
        "ExpressRouteCircuits_StopCircuitLinkFailoverTest",
        "ExpressRouteCircuits_GetCircuitLinkFailoverAllTestsDetails",
        "ExpressRouteCircuits_GetCircuitLinkFailoverSingleTestDetails",
    }
)


@dataclass(frozen=True, slots=True)
class ResourceNames:
    """The names the face answers to; everything else is a 404."""

    subscription_id: str = "00000000-0000-4000-8000-00000000e7d1"
    resource_group: str = "erdrill-lab"
    location: str = "labregion"
    circuit: str = "er-circuit"
    peering: str = "AzurePrivatePeering"
    er_gateway: str = "er-gateway"
    vpn_gateway: str = "vpn-gateway"
    vpn_connection: str = "vpn-connection"
    nic: str = "workload-nic"
    network_watcher: str = "network-watcher"
    peering_location: str = "lab-location"

    def resource_id(self, kind: str, *names: str) -> str:
        """The ARM id of a Microsoft.Network resource, e.g. resource_id("connections", "c")."""
        base = (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/Microsoft.Network/{kind}"
        )
        return "/".join([base, *names])


@dataclass(frozen=True, slots=True)
class Call:
    """One ARM request: the operationId, its path parameters, query and JSON body."""

    operation: str
    method: str
    params: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names


@dataclass(frozen=True, slots=True)
class Reply:
    """What to answer. For an LRO operation a 2xx reply becomes the operation's result,
    reached after `polls` InProgress answers of the status endpoint (None: never done)."""

    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    polls: int | None = 1
    raw: bytes | None = None  # sent as-is instead of JSON (to test unexpected shapes)
    immediate: bool = False  # answer an LRO operation directly, without 202


def error_reply(status: int, code: str, message: str, **headers: str) -> Reply:
    """An ARM error (CloudError body)."""
    return Reply(status, {"error": {"code": code, "message": message}}, headers)


class Backend(Protocol):
    """Answers ARM calls for one set of resources."""

    names: ResourceNames

    def answer(self, call: Call) -> Reply: ...

    def precheck(self, call: Call) -> Reply | None:
        """Why ARM would refuse the call before accepting it (404, 400, 412), else None."""
        ...


class ResourceBackend:
    """ARM bookkeeping over network facts that a subclass supplies.

    Subclasses implement the `*_facts` methods, returning ARM-shaped items
    (EffectiveRoute, GatewayRoute, BgpPeerStatus dicts), and `set_peering_state`.
    """

    def __init__(self, names: ResourceNames | None = None) -> None:
        self.names = names or ResourceNames()
        self._lock = threading.Lock()
        self.peering_etag = _etag()
        self.site_tests: dict[str, dict[str, Any]] = {}  # peering location -> test details

    # --- facts (override) --------------------------------------------------------------
    def effective_routes(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def learned_routes(self, gateway: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def bgp_peers(self, gateway: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def connection_status(self) -> str:
        raise NotImplementedError

    def peering_state(self) -> str:
        raise NotImplementedError

    def set_peering_state(self, state: str) -> None:
        raise NotImplementedError

    def start_site_failover(self, peering_location: str) -> None:
        raise NotImplementedError

    def stop_site_failover(self) -> None:
        raise NotImplementedError

    def next_hop(self, destination: str) -> dict[str, Any]:
        return {"nextHopType": "None", "nextHopIpAddress": "", "routeTableId": "System Route"}

    def peering_properties(self) -> dict[str, Any]:
        """Fixed properties of the private peering (besides its state)."""
        return {
            "peeringType": "AzurePrivatePeering",
            "azureASN": 12076,
            "peerASN": 65010,
            "primaryPeerAddressPrefix": "192.168.255.0/30",
            "secondaryPeerAddressPrefix": "192.168.255.4/30",
            "vlanId": 100,
        }

    # --- ARM ------------------------------------------------------------------------------
    def answer(self, call: Call) -> Reply:
        refusal = self.answer_refusal(call)
        if refusal is not None:
            return refusal
        handler = getattr(self, "_" + call.operation, None)
        if handler is None:
            return error_reply(400, "UnsupportedOperation", f"{call.operation} is not served here")
        with self._lock:
            refused = self._refused(call)
            reply: Reply = refused if refused is not None else handler(call)
        return reply

    def precheck(self, call: Call) -> Reply | None:
        """Why ARM would refuse this call before accepting it (404, 400, 412), else None.

        The face asks before it accepts a write whose change it makes later.
        """
        first = self.answer_refusal(call)
        if first is not None:
            return first
        with self._lock:
            return self._refused(call)

    def answer_refusal(self, call: Call) -> Reply | None:
        """A 404 for a subscription or resource group that is not the face's."""
        n, p = self.names, call.params
        if p.get("subscriptionId") != n.subscription_id:
            return error_reply(
                404,
                "SubscriptionNotFound",
                f"The subscription '{p.get('subscriptionId')}' could not be found.",
            )
        if p.get("resourceGroupName", "").lower() != n.resource_group.lower():
            return error_reply(
                404,
                "ResourceGroupNotFound",
                f"Resource group '{p.get('resourceGroupName')}' could not be found.",
            )
        return None

    def _refused(self, call: Call) -> Reply | None:
        check = getattr(self, "_check_" + call.operation, None)
        return check(call) if check is not None else None

    def _missing(self, kind: str, name: str) -> Reply:
        return error_reply(
            404,
            "ResourceNotFound",
            f"The Resource 'Microsoft.Network/{kind}/{name}' under resource group "
            f"'{self.names.resource_group}' was not found.",
        )

    def _gateway(self, call: Call) -> str | None:
        gw = call.params.get("virtualNetworkGatewayName", "")
        return gw if gw in (self.names.er_gateway, self.names.vpn_gateway) else None

    def _NetworkInterfaces_GetEffectiveRouteTable(self, call: Call) -> Reply:
        if call.params.get("networkInterfaceName") != self.names.nic:
            return self._missing("networkInterfaces", call.params.get("networkInterfaceName", ""))
        return Reply(200, {"value": self.effective_routes()})

    def _VirtualNetworkGateways_GetLearnedRoutes(self, call: Call) -> Reply:
        gw = self._gateway(call)
        if gw is None:
            return self._missing("virtualNetworkGateways", call.params["virtualNetworkGatewayName"])
        return Reply(200, {"value": self.learned_routes(gw)})

    def _VirtualNetworkGateways_GetBgpPeerStatus(self, call: Call) -> Reply:
        gw = self._gateway(call)
        if gw is None:
            return self._missing("virtualNetworkGateways", call.params["virtualNetworkGatewayName"])
        peers = self.bgp_peers(gw)
        peer = call.query.get("peer")
        if peer:
            peers = [x for x in peers if x.get("neighbor") == peer]
        return Reply(200, {"value": peers})

    def _check_VirtualNetworkGateways_StartExpressRouteSiteFailoverSimulation(
        self, call: Call
    ) -> Reply | None:
        if self._gateway(call) != self.names.er_gateway:
            return self._missing("virtualNetworkGateways", call.params["virtualNetworkGatewayName"])
        location = call.query.get("peeringLocation", "")
        if location != self.names.peering_location:
            return error_reply(
                400,
                "InvalidPeeringLocation",
                f"Peering location '{location}' has no circuit connected to this gateway.",
            )
        return None

    def _VirtualNetworkGateways_StartExpressRouteSiteFailoverSimulation(self, call: Call) -> Reply:
        location = call.query.get("peeringLocation", "")
        self.start_site_failover(location)
        self.site_tests[location] = {
            "peeringLocation": location,
            "status": "Running",
            "startTime": _now(),
            "endTime": "",
            "testGuid": str(uuid.uuid4()),
            "testType": "SingleSiteFailover",
            "circuits": [{"name": self.names.circuit, "nrpResourceUri": self._circuit_id()}],
            "connections": [{"name": f"{self.names.circuit}-connection", "status": "Connected"}],
            "issues": [],
        }
        return Reply(200, "Failover simulation started")

    def _circuit_id(self) -> str:
        return self.names.resource_id("expressRouteCircuits", self.names.circuit)

    def _VirtualNetworkGateways_GetFailoverAllTestDetails(self, call: Call) -> Reply:
        if self._gateway(call) != self.names.er_gateway:
            return self._missing("virtualNetworkGateways", call.params["virtualNetworkGatewayName"])
        return Reply(200, list(self.site_tests.values()))

    def _check_VirtualNetworkGateways_StopExpressRouteSiteFailoverSimulation(
        self, call: Call
    ) -> Reply | None:
        if self._gateway(call) != self.names.er_gateway:
            return self._missing("virtualNetworkGateways", call.params["virtualNetworkGatewayName"])
        return None

    def _VirtualNetworkGateways_StopExpressRouteSiteFailoverSimulation(self, call: Call) -> Reply:
        self.stop_site_failover()
        body = call.body if isinstance(call.body, dict) else {}
        test = self.site_tests.get(str(body.get("peeringLocation", "")))
        if test is not None:
            test.update(status="Completed", endTime=_now())
            test["wasSimulationSuccessful"] = body.get("wasSimulationSuccessful")
        return Reply(200, "Failover simulation stopped")

    def _connection_body(self) -> dict[str, Any]:
        n = self.names
        return {
            "id": n.resource_id("connections", n.vpn_connection),
            "name": n.vpn_connection,
            "type": "Microsoft.Network/connections",
            "location": n.location,
            "etag": 'W/"00000000-0000-0000-0000-000000000001"',
            "properties": {
                "virtualNetworkGateway1": {
                    "id": n.resource_id("virtualNetworkGateways", n.vpn_gateway),
                    "properties": {},
                },
                "connectionType": "IPsec",
                "connectionProtocol": "IKEv2",
                "routingWeight": 0,
                "enableBgp": True,
                "connectionStatus": self.connection_status(),
                "ingressBytesTransferred": 0,
                "egressBytesTransferred": 0,
                "provisioningState": "Succeeded",
            },
        }

    def _VirtualNetworkGatewayConnections_Get(self, call: Call) -> Reply:
        name = call.params.get("virtualNetworkGatewayConnectionName", "")
        if name != self.names.vpn_connection:
            return self._missing("connections", name)
        return Reply(200, self._connection_body())

    def _peering_body(self) -> dict[str, Any]:
        n = self.names
        return {
            "id": n.resource_id("expressRouteCircuits", n.circuit, "peerings", n.peering),
            "name": n.peering,
            "type": "Microsoft.Network/expressRouteCircuits/peerings",
            "etag": self.peering_etag,
            "properties": {
                **self.peering_properties(),
                "state": self.peering_state(),
                "provisioningState": "Succeeded",
                "lastModifiedBy": "Customer",
            },
        }

    def _peering_missing(self, call: Call) -> Reply | None:
        if call.params.get("circuitName") != self.names.circuit:
            return self._missing("expressRouteCircuits", call.params.get("circuitName", ""))
        if call.params.get("peeringName") != self.names.peering:
            return self._missing(
                f"expressRouteCircuits/{self.names.circuit}/peerings",
                call.params.get("peeringName", ""),
            )
        return None

    def _ExpressRouteCircuitPeerings_Get(self, call: Call) -> Reply:
        return self._peering_missing(call) or Reply(200, self._peering_body())

    def _check_ExpressRouteCircuitPeerings_CreateOrUpdate(self, call: Call) -> Reply | None:
        missing = self._peering_missing(call)
        if missing is not None:
            return missing
        body = call.body if isinstance(call.body, dict) else {}
        props = body.get("properties")
        state = props.get("state") if isinstance(props, dict) else None
        if state not in ("Enabled", "Disabled"):
            return error_reply(
                400, "InvalidRequestFormat", "properties.state must be 'Enabled' or 'Disabled'"
            )
        match = call.headers.get("if-match")
        if match is not None and match not in ("*", self.peering_etag):
            return error_reply(
                412,
                "PreconditionFailed",
                f"The condition specified using HTTP conditional header(s) is not met: "
                f"If-Match {match} does not match the current etag {self.peering_etag}.",
            )
        return None

    def _ExpressRouteCircuitPeerings_CreateOrUpdate(self, call: Call) -> Reply:
        self.set_peering_state(str(call.body["properties"]["state"]))
        self.peering_etag = _etag()
        return Reply(200, self._peering_body())

    def _NetworkWatchers_GetNextHop(self, call: Call) -> Reply:
        if call.params.get("networkWatcherName") != self.names.network_watcher:
            return self._missing("networkWatchers", call.params.get("networkWatcherName", ""))
        body = call.body if isinstance(call.body, dict) else {}
        return Reply(200, self.next_hop(str(body.get("destinationIPAddress", ""))))


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _etag() -> str:
    return f'W/"{uuid.uuid4()}"'


class ScriptedBackend:
    """Scripted replies per operation, used in order before the inner backend answers.

    `script={"VirtualNetworkGateways_GetLearnedRoutes": [error_reply(429, ...)]}` makes the
    first learned-routes call throttled and the next one real.
    """

    def __init__(self, inner: Backend, script: Mapping[str, Iterable[Reply]] | None = None) -> None:
        self.inner = inner
        self.names = inner.names
        self._script: dict[str, deque[Reply]] = {k: deque(v) for k, v in (script or {}).items()}
        self._lock = threading.Lock()

    def precheck(self, call: Call) -> Reply | None:
        check = getattr(self.inner, "precheck", None)
        return check(call) if check is not None else None

    def add(self, operation: str, *replies: Reply) -> None:
        with self._lock:
            self._script.setdefault(operation, deque()).extend(replies)

    def answer(self, call: Call) -> Reply:
        with self._lock:
            queue = self._script.get(call.operation)
            scripted = queue.popleft() if queue else None
        return scripted if scripted is not None else self.inner.answer(call)
