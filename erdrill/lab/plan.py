"""The lab's wiring, derived from its topology: every link, tunnel, veth pair, bridge and address.

Interface names are short and numbered (`er0` is the first ExpressRoute link's CE side,
`ipsec1` a device's second tunnel), so they stay within the kernel's 15 characters
whatever the node names are.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from erdrill.lab.topology import EffectiveTimers, Topology
from erdrill.lab.topology_checks import er_links

__all__ = ["ErLink", "Plan", "Tunnel", "plan"]

IKE_PORTS = (500, 4500)


def _host(net: str, n: int) -> str:
    return str(ipaddress.IPv4Network(net).network_address + n)


@dataclass(frozen=True)
class ErLink:
    """One ExpressRoute link: CE router, provider bridge, MSEE, and the MSEE's gateway link."""

    index: int
    circuit: str
    location: str
    role: str  # primary | secondary
    ce: str
    msee: str
    ce_ip: str
    msee_ip: str
    msee_gw_ip: str
    gateway_ip: str
    timers: EffectiveTimers
    many_circuits: bool

    @property
    def label(self) -> str:
        """`primary`, or `<circuit>/primary` when the lab has two circuits."""
        return f"{self.circuit}/{self.role}" if self.many_circuits else self.role

    @property
    def ce_if(self) -> str:
        return f"er{self.index}"

    @property
    def provider_ports(self) -> tuple[str, str]:
        return (f"ce{self.index}", f"msee{self.index}")

    @property
    def bridge(self) -> str:
        return f"br{self.index}"

    @property
    def gateway_if(self) -> str:
        return f"msee{self.index}"


@dataclass(frozen=True)
class Tunnel:
    """One IPsec tunnel with BGP inside: a device end and a VPN gateway instance end."""

    index: int
    device: str
    instance: str
    instance_no: int  # 1-based, as Azure numbers the instances of an active-active gateway
    device_end: int  # the tunnel's number among the device's tunnels
    instance_end: int  # among the instance's
    device_outer: str
    instance_outer: str
    device_bgp: str
    instance_bgp: str
    name: str  # BIRD protocol and swanctl connection name
    slot: int = 0  # port slot: unique among the device's tunnels and among the instance's

    @property
    def label(self) -> str:
        return f"instance-{self.instance_no}"

    def ports(self) -> tuple[int, int]:
        """IKE and NAT-T ports of both ends' charons: slot 0 takes 500/4500 (and floats to
        4500 as usual); another slot the same pair at both ends, so nothing floats."""
        return (IKE_PORTS[0] + 1000 * self.slot, IKE_PORTS[1] + 1000 * self.slot)


@dataclass
class Plan:
    """Everything the build needs, in build order."""

    nodes: list[str]
    routers: list[str]
    hosts: list[str]
    links: list[ErLink]
    tunnels: list[Tunnel]
    veths: list[tuple[str, str, str, str]] = field(default_factory=list)
    bridges: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    addresses: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    default_routes: dict[str, str] = field(default_factory=dict)
    lan_owner: str = ""
    workloads: list[tuple[str, str, str]] = field(default_factory=list)  # (node, address, VNet)

    def links_of(self, ce: str) -> list[ErLink]:
        return [link for link in self.links if link.ce == ce]

    def tunnels_of(self, node: str) -> list[Tunnel]:
        return [t for t in self.tunnels if node in (t.device, t.instance)]

    def bridge(self, node: str, name: str, ports: list[str]) -> None:
        self.bridges.setdefault(node, []).append((name, ports))

    def address(self, node: str, iface: str, cidr: str) -> None:
        self.addresses.setdefault(node, []).append((iface, cidr))


_PLANS: dict[int, tuple[Topology, Plan]] = {}


def plan(t: Topology) -> Plan:
    """The wiring of one topology (computed once per topology object)."""
    hit = _PLANS.get(id(t))
    if hit is None or hit[0] is not t:
        if len(_PLANS) > 64:
            _PLANS.clear()
        hit = _PLANS[id(t)] = (t, _plan(t))
    return hit[1]


def _plan(t: Topology) -> Plan:
    o, er, vpn, az = t.onprem, t.expressroute, t.vpn, t.azure
    links = [
        ErLink(
            index=i,
            circuit=er.circuits[int(f.split(".")[2])].name,
            location=er.circuits[int(f.split(".")[2])].location,
            role=f.rsplit(".", 1)[1],
            ce=link.ce,
            msee=link.msee,
            ce_ip=_host(link.peering, 1),
            msee_ip=_host(link.peering, 2),
            msee_gw_ip=_host(link.gateway_link, 1),
            gateway_ip=_host(link.gateway_link, 2),
            timers=t.timers_with(link.timers, link.bfd),
            many_circuits=len(er.circuits) > 1,
        )
        for i, (f, link) in enumerate(er_links(er))
    ]
    tunnels: list[Tunnel] = []
    ends: dict[str, int] = {}
    slots: dict[str, set[int]] = {}
    pairs = [(d, inst) for d in vpn.devices for inst in vpn.instances]
    for k, (dev, inst) in enumerate(pairs):
        d_end, i_end = ends.get(dev, 0), ends.get(inst, 0)
        ends[dev], ends[inst] = d_end + 1, i_end + 1
        taken = slots.setdefault(dev, set()) | slots.setdefault(inst, set())
        slot = min(set(range(len(pairs) + 1)) - taken)
        slots[dev].add(slot)
        slots[inst].add(slot)
        tunnels.append(
            Tunnel(
                index=k,
                device=dev,
                instance=inst,
                instance_no=list(vpn.instances).index(inst) + 1,
                device_end=d_end,
                instance_end=i_end,
                device_outer=f"{_host(vpn.underlay, 4 * k + 1)}/30",
                instance_outer=f"{_host(vpn.underlay, 4 * k + 2)}/30",
                device_bgp=_host(vpn.bgp_range, 4 * k + 1),
                instance_bgp=_host(vpn.bgp_range, 4 * k + 2),
                name="s2s" if len(pairs) == 1 else f"s2s{k}",
                slot=slot,
            )
        )
    workload_nodes = [h for s in az.subnets.values() for h in s.hosts]
    workload_nodes += [h for sp in az.spokes.values() for s in sp.subnets.values() for h in s.hosts]
    p = Plan(
        nodes=t.nodes,
        routers=[
            *o.routers,
            *(lk.msee for lk in links),
            az.er_gateway_node,
            *vpn.instances,
            az.vnet_node,
        ],
        hosts=[*o.hosts, *workload_nodes],
        links=links,
        tunnels=tunnels,
    )
    _wire_onprem(t, p)
    _wire_expressroute(t, p)
    _wire_vpn(t, p)
    _wire_azure(t, p)
    return p


def _wire_onprem(t: Topology, p: Plan) -> None:
    o = t.onprem
    plen = ipaddress.IPv4Network(o.lan).prefixlen
    owner, *others = list(o.routers)
    p.lan_owner = owner
    ports = []
    for k, host in enumerate(o.hosts):
        p.veths.append((owner, f"lh{k}", host, "eth0"))
        p.address(host, "eth0", f"{o.hosts[host]}/{plen}")
        p.default_routes[host] = o.routers[owner]
        ports.append(f"lh{k}")
    for k, router in enumerate(others):
        p.veths.append((owner, f"lr{k}", router, "lan"))
        p.address(router, "lan", f"{o.routers[router]}/{plen}")
        ports.append(f"lr{k}")
    p.bridge(owner, "lan", ports)
    p.address(owner, "lan", f"{o.routers[owner]}/{plen}")


def _wire_expressroute(t: Topology, p: Plan) -> None:
    provider, gateway = t.expressroute.provider, t.azure.er_gateway_node
    for link in p.links:
        ce_port, msee_port = link.provider_ports
        p.veths.append((link.ce, link.ce_if, provider, ce_port))
        p.veths.append((provider, msee_port, link.msee, "ce"))
        p.veths.append((link.msee, "gw", gateway, link.gateway_if))
        p.bridge(provider, link.bridge, [ce_port, msee_port])
        p.address(link.ce, link.ce_if, f"{link.ce_ip}/30")
        p.address(link.msee, "ce", f"{link.msee_ip}/30")
        p.address(link.msee, "gw", f"{link.msee_gw_ip}/30")
        p.address(gateway, link.gateway_if, f"{link.gateway_ip}/30")
    p.addresses.setdefault(provider, [])


def _wire_vpn(t: Topology, p: Plan) -> None:
    for tun in p.tunnels:
        dev_if, inst_if = f"inet{tun.device_end}", f"inet{tun.instance_end}"
        p.veths.append((tun.device, dev_if, tun.instance, inst_if))
        p.address(tun.device, dev_if, tun.device_outer)
        p.address(tun.instance, inst_if, tun.instance_outer)


def _wire_azure(t: Topology, p: Plan) -> None:
    az, vnet = t.azure, t.azure.vnet_node
    plen = ipaddress.IPv4Network(az.gateway_subnet).prefixlen
    gw_ports = ["er", *(f"vpn{i}" for i in range(len(t.vpn.instances)))]
    gateways = [(az.er_gateway_node, az.er_gateway), *t.vpn.instances.items()]
    for port, (node, addr) in zip(gw_ports, gateways, strict=True):
        p.veths.append((node, "gwsub", vnet, port))
        p.address(node, "gwsub", f"{addr}/{plen}")
    p.bridge(vnet, "gwsub", gw_ports)
    p.address(vnet, "gwsub", f"{az.vnet_router}/{plen}")
    subnets = [(s, az.vnet) for s in az.subnets.values()]
    subnets += [(s, sp.vnet) for sp in az.spokes.values() for s in sp.subnets.values()]
    for n, (s, vnet_range) in enumerate(subnets):
        net = ipaddress.IPv4Network(s.prefix)
        router_ip = str(net.network_address + 1)
        ports = []
        for k, (host, addr) in enumerate(s.hosts.items()):
            p.veths.append((vnet, f"sn{n}h{k}", host, "eth0"))
            p.address(host, "eth0", f"{addr}/{net.prefixlen}")
            p.default_routes[host] = router_ip
            p.workloads.append((host, addr, vnet_range))
            ports.append(f"sn{n}h{k}")
        p.bridge(vnet, f"sn{n}", ports)
        p.address(vnet, f"sn{n}", f"{router_ip}/{net.prefixlen}")
