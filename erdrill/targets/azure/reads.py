"""Azure's control plane, read: effective and learned routes, BGP peers, the tunnel, the peering.

The return path (Azure -> on-premises) is judged from these reads (targets.classify): the
NIC's effective routes to the configured onprem_prefixes, by the gateways' learned
routes. The forward path is not visible from Azure: `ControlPlane.health` reports it as
unknown.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core.polling import LROPoller
from pydantic import BaseModel, ValidationError

from erdrill.core.errors import TargetError
from erdrill.core.paths import PathKind, PathPair
from erdrill.core.routes import RouteTable
from erdrill.targets.azure.arm import Arm, raw_json
from erdrill.targets.azure.errors import ShapeError
from erdrill.targets.classify import (
    MICROSOFT_ASN,
    BgpPeer,
    EffectiveRoute,
    GatewayRoute,
    classify_learned_route,
    gateway_route_table,
    nic_route_table,
    path_to_prefix,
)
from erdrill.targets.target import Health

__all__ = ["ControlPlane", "Snapshot", "bgp_state", "dig_str", "object_list", "parse_list"]

M = TypeVar("M", bound=BaseModel)


@dataclass(slots=True)
class Snapshot:
    """Every control-plane read, taken together."""

    taken_at: float
    effective: list[EffectiveRoute]
    learned: dict[str, list[GatewayRoute]]
    peers: dict[str, list[BgpPeer]]
    connection_status: str
    peering_state: str
    extra: dict[str, Any] = field(default_factory=dict)


class _ValueList(BaseModel):
    value: list[dict[str, Any]]


def bgp_state(arm_state: str) -> str:
    """ARM's BGP peer state as the drill's session state."""
    return {"Connected": "established", "Unknown": "unknown"}.get(arm_state, "down")


def dig_str(body: Any, *keys: str) -> str:
    """The string at `keys` in a JSON body, else ShapeError naming the path."""
    cur = body
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            raise ShapeError(f"missing {'.'.join(keys)}")
        cur = cur[k]
    if not isinstance(cur, str):
        raise ShapeError(f"{'.'.join(keys)} is {type(cur).__name__}, expected a string")
    return cur


def object_list(what: str, body: Any) -> list[dict[str, Any]]:
    """A JSON body that must be a list of objects (test details), else ShapeError."""
    if not isinstance(body, list) or not all(isinstance(t, dict) for t in body):
        raise ShapeError(f"{what}: {type(body).__name__}, expected a list")
    return body


def parse_list(body: Any, model: type[M]) -> list[M]:
    """An ARM list body (`{"value": [...]}`) as models, else ShapeError naming the field."""
    if not isinstance(body, dict):
        raise ShapeError(f"body is {type(body).__name__}, expected an object with 'value'")
    try:
        items = _ValueList.model_validate(body).value
        return [model.model_validate(item) for item in items]
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise ShapeError(f"{model.__name__}: {where or 'value'}: {first.get('msg')}") from None


class ControlPlane:
    """The reads of one `[azure]` config, through `Arm` (read calls run in plan mode too)."""

    def __init__(self, arm: Arm) -> None:
        self.arm = arm
        self.cfg = arm.cfg

    def _list(
        self, action: str, detail: str, begin: Callable[[], LROPoller[Any]], model: type[M]
    ) -> list[M]:
        def run() -> list[M]:
            body = self.arm.lro(action, begin())
            return parse_list(body, model)

        return self.arm.call(action, detail, run) or []

    def effective_routes(self) -> list[EffectiveRoute]:
        c, rg, nic = self.arm.client, self.cfg.resource_group, self.cfg.nic
        return self._list(
            "effective routes",
            f"network interface {nic}",
            lambda: c.network_interfaces.begin_get_effective_route_table(rg, nic, cls=raw_json),
            EffectiveRoute,
        )

    def learned_routes(self, gateway: str) -> list[GatewayRoute]:
        c, rg = self.arm.client, self.cfg.resource_group
        return self._list(
            "learned routes",
            f"virtual network gateway {gateway}",
            lambda: c.virtual_network_gateways.begin_get_learned_routes(rg, gateway, cls=raw_json),
            GatewayRoute,
        )

    def bgp_peers(self, gateway: str) -> list[BgpPeer]:
        c, rg = self.arm.client, self.cfg.resource_group
        return self._list(
            "BGP peer status",
            f"virtual network gateway {gateway}",
            lambda: c.virtual_network_gateways.begin_get_bgp_peer_status(rg, gateway, cls=raw_json),
            BgpPeer,
        )

    def connection_status(self) -> str:
        c, rg, name = self.arm.client, self.cfg.resource_group, self.cfg.vpn_connection

        def run() -> str:
            body = c.virtual_network_gateway_connections.get(rg, name, cls=raw_json)
            return dig_str(body, "properties", "connectionStatus")

        return self.arm.call("VPN connection", f"connection {name}", run) or "Unknown"

    def peering_body(self) -> dict[str, Any]:
        """The circuit peering as ARM returns it (the body a peering write sends back)."""
        c, cfg = self.arm.client, self.cfg

        def run() -> dict[str, Any]:
            body = c.express_route_circuit_peerings.get(
                cfg.resource_group, cfg.circuit, cfg.peering, cls=raw_json
            )
            dig_str(body, "properties", "state")
            return dict(body)

        detail = f"circuit {cfg.circuit} peering {cfg.peering}"
        return self.arm.call("peering read", detail, run) or {}

    def failover_tests(self) -> list[dict[str, Any]]:
        """The ER gateway's site failover test details, one per peering location."""
        c, rg, gw = self.arm.client, self.cfg.resource_group, self.cfg.er_gateway

        def run() -> list[dict[str, Any]]:
            poller = c.virtual_network_gateways.begin_get_failover_all_test_details(
                rg, gw, type="SingleSiteFailover", fetch_latest=True, cls=raw_json
            )
            return object_list(
                "failover test details", self.arm.lro("site failover details", poller)
            )

        detail = f"virtual network gateway {gw} (begin_get_failover_all_test_details)"
        return self.arm.call("site failover details", detail, run) or []

    def peering_state(self) -> str:
        return dig_str(self.peering_body(), "properties", "state")

    def er_down(self) -> bool:
        """True when ExpressRoute no longer brings the drill's prefixes to the ER gateway.

        Down: none of the gateway's Microsoft edge (MSEE, AS 12076) peers is connected, or
        the gateway learns none of the drill's prefixes (onprem_prefixes, more-specifics
        included) through 12076. The second is what a stopped circuit or a disabled
        peering looks like from Azure: the gateway's sessions to the MSEEs stay up and only
        the on-premises routes go. Other peers (iBGP between gateway instances, a route
        server) never decide it.
        """
        peers = self.bgp_peers(self.cfg.er_gateway)
        msee = [p for p in peers if p.asn in (int(MICROSOFT_ASN), 0)]  # 0: ASN not reported
        if not any(p.state == "Connected" for p in msee):
            return True
        mine = [ipaddress.ip_network(p, strict=False) for p in self.cfg.onprem_prefixes]
        rule = self.cfg.classification
        return not any(
            classify_learned_route(r, rule) is PathKind.EXPRESSROUTE and _within(r.network, mine)
            for r in self.learned_routes(self.cfg.er_gateway)
        )

    def snapshot(self) -> Snapshot:
        """Every control-plane read, made concurrently."""
        gws = (self.cfg.er_gateway, self.cfg.vpn_gateway)
        with ThreadPoolExecutor(max_workers=7, thread_name_prefix="azure-read") as pool:
            eff = pool.submit(self.effective_routes)
            learned = {g: pool.submit(self.learned_routes, g) for g in gws}
            peers = {g: pool.submit(self.bgp_peers, g) for g in gws}
            conn = pool.submit(self.connection_status)
            peering = pool.submit(self.peering_state)
            return Snapshot(
                taken_at=time.time(),
                effective=eff.result(),
                learned={g: f.result() for g, f in learned.items()},
                peers={g: f.result() for g, f in peers.items()},
                connection_status=conn.result(),
                peering_state=peering.result(),
            )

    def tables(self, snap: Snapshot) -> list[RouteTable]:
        """The NIC's table, then each gateway's, classified."""
        rule = self.cfg.classification
        all_learned = [r for routes in snap.learned.values() for r in routes]
        tables = [
            nic_route_table(f"nic:{self.cfg.nic}", snap.effective, all_learned, rule, snap.taken_at)
        ]
        for gw, routes in snap.learned.items():
            tables.append(gateway_route_table(f"gateway:{gw}", routes, rule, snap.taken_at))
        return tables

    def route_tables(self) -> list[RouteTable]:
        return self.tables(self.snapshot())

    def health(self) -> Health:
        """Azure's view: BGP, the tunnel, the return path; the forward path is unknown."""
        snap = self.snapshot()
        bgp = {
            f"{gw}/{p.neighbor}": bgp_state(p.state)
            for gw, peers in snap.peers.items()
            for p in peers
        }
        nic = self.tables(snap)[0]
        by_prefix = {p: path_to_prefix(p, nic) for p in self.cfg.onprem_prefixes}
        kinds = set(by_prefix.values())
        ret = kinds.pop() if len(kinds) == 1 else PathKind.UNKNOWN
        return Health(
            bgp=bgp,
            tunnel="up" if snap.connection_status == "Connected" else "down",
            paths=PathPair(PathKind.UNKNOWN, ret),
            details={
                "peering_state": snap.peering_state,
                "connection_status": snap.connection_status,
                "bgp_arm_states": {
                    f"{gw}/{p.neighbor}": p.state for gw, peers in snap.peers.items() for p in peers
                },
                "return_by_prefix": {p: k.value for p, k in by_prefix.items()},
                "forward": "not visible from Azure; classified by the probes' TTL signatures",
            },
        )

    def check_ready(self) -> Health:
        """Azure is not built by erdrill: it must be healthy (ER up, tunnel up), or fail."""
        h = self.health()
        problems = [f"BGP {k} is {v}" for k, v in h.bgp.items() if v != "established"]
        if h.tunnel != "up":
            problems.append(f"VPN connection {self.cfg.vpn_connection} is not connected")
        if h.details.get("peering_state") != "Enabled":
            problems.append(f"peering {self.cfg.peering} is {h.details.get('peering_state')}")
        if problems:
            raise TargetError("azure not ready: " + "; ".join(problems))
        return h

    def return_path(self) -> PathKind:
        """The path Azure's NIC uses to every on-premises prefix (unknown if they differ)."""
        cfg = self.cfg
        gws = (cfg.er_gateway, cfg.vpn_gateway)
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="azure-path") as pool:
            eff = pool.submit(self.effective_routes)
            learned = [pool.submit(self.learned_routes, g) for g in gws]
            routes = [r for f in learned for r in f.result()]
            table = nic_route_table(
                f"nic:{cfg.nic}", eff.result(), routes, cfg.classification, time.time()
            )
        kinds = {path_to_prefix(p, table) for p in cfg.onprem_prefixes}
        return kinds.pop() if len(kinds) == 1 else PathKind.UNKNOWN

    def learned_prefixes(self, *, drill: bool = True) -> dict[str, dict[str, list[str]]]:
        """Azure's side only: the prefixes the gateways learned over each path.

        `drill`: only the drill's (within the configured onprem_prefixes, more-specifics
        included); else only the others (other VNets, Global Reach, VPN-only branches).
        """
        mine = [ipaddress.ip_network(p, strict=False) for p in self.cfg.onprem_prefixes]
        out: dict[str, set[str]] = {"expressroute": set(), "vpn": set()}
        for gw in (self.cfg.er_gateway, self.cfg.vpn_gateway):
            for r in self.learned_routes(gw):
                kind = classify_learned_route(r, self.cfg.classification)
                if kind.value in out and _within(r.network, mine) == drill:
                    out[kind.value].add(r.network)
        return {"azure": {k: sorted(v) for k, v in out.items()}}


def _within(prefix: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        net = ipaddress.ip_network(prefix, strict=False)
    except ValueError:
        return False
    return any(net.version == n.version and net.subnet_of(n) for n in networks)  # type: ignore[arg-type]
