"""Checks across a topology's sections: names unique, references known, ranges apart.

Each problem is a `FieldProblem` naming the field it is about, so the one-line error
points at the line to fix.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from erdrill.lab.topology_fields import AzureSide, ExpressRoute, Link, OnPrem, Subnet, Vpn

__all__ = ["FieldProblem", "check_topology", "er_links", "lab_networks", "node_names"]

Net = ipaddress.IPv4Network


class FieldProblem(ValueError):
    """A problem with one field of the topology (dotted path)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def er_links(er: ExpressRoute) -> Iterator[tuple[str, Link]]:
    """(field path, link) of every ExpressRoute link, primary before secondary."""
    for i, c in enumerate(er.circuits):
        yield f"expressroute.circuits.{i}.primary", c.primary
        if c.secondary is not None:
            yield f"expressroute.circuits.{i}.secondary", c.secondary


def _subnets(az: AzureSide) -> Iterator[tuple[str, Subnet]]:
    for name, s in az.subnets.items():
        yield f"azure.subnets.{name}", s
    for spoke, sp in az.spokes.items():
        for name, s in sp.subnets.items():
            yield f"azure.spokes.{spoke}.subnets.{name}", s


def _named_nodes(
    onprem: OnPrem, er: ExpressRoute, vpn: Vpn, az: AzureSide
) -> Iterator[tuple[str, str]]:
    for h in onprem.hosts:
        yield "onprem.hosts", h
    for r in onprem.routers:
        yield "onprem.routers", r
    yield "expressroute.provider", er.provider
    for field, link in er_links(er):
        yield f"{field}.msee", link.msee
    yield "azure.er_gateway_node", az.er_gateway_node
    for inst in vpn.instances:
        yield "vpn.instances", inst
    yield "azure.vnet_node", az.vnet_node
    for field, s in _subnets(az):
        for h in s.hosts:
            yield f"{field}.hosts", h


def node_names(onprem: OnPrem, er: ExpressRoute, vpn: Vpn, az: AzureSide) -> list[str]:
    """Every node, in build order: on-prem, provider, MSEEs, gateways, VNet, workloads."""
    return [n for _, n in _named_nodes(onprem, er, vpn, az)]


def lab_networks(onprem: OnPrem, er: ExpressRoute, vpn: Vpn, az: AzureSide) -> list[Net]:
    """Every network inside the lab: the only addresses a lab probe may target."""
    nets = {Net(onprem.lan), Net(az.vnet), Net(az.gateway_subnet), Net(vpn.underlay)}
    nets |= {Net(vpn.bgp_range)}
    for _, link in er_links(er):
        nets |= {Net(link.peering), Net(link.gateway_link)}
    for sp in az.spokes.values():
        nets.add(Net(sp.vnet))
    return sorted(nets)


def check_topology(onprem: OnPrem, er: ExpressRoute, vpn: Vpn, az: AzureSide) -> None:
    _check_names(onprem, er, vpn, az)
    _check_ranges(onprem, er, vpn, az)
    _check_hosts(onprem, az)
    _check_gateway_subnet(vpn, az)
    _check_advertised(onprem, az)


def _check_names(onprem: OnPrem, er: ExpressRoute, vpn: Vpn, az: AzureSide) -> None:
    seen: dict[str, str] = {}
    for field, name in _named_nodes(onprem, er, vpn, az):
        if name in seen:
            raise FieldProblem(field, f"node name {name!r} is also used by {seen[name]}")
        seen[name] = field
    routers = ", ".join(onprem.routers)
    for field, link in er_links(er):
        if link.ce not in onprem.routers:
            raise FieldProblem(
                f"{field}.ce", f"{link.ce!r} is not one of onprem.routers ({routers})"
            )
    for i, dev in enumerate(vpn.devices):
        if dev not in onprem.routers:
            raise FieldProblem(
                f"vpn.devices.{i}", f"{dev!r} is not one of onprem.routers ({routers})"
            )
    if len(set(vpn.devices)) != len(vpn.devices):
        raise FieldProblem("vpn.devices", "names a device twice")
    locations = [c.location for c in er.circuits]
    if len(set(locations)) != len(locations):
        raise FieldProblem("expressroute.circuits", "two circuits at one peering location")
    if len({c.name for c in er.circuits}) != len(er.circuits):
        raise FieldProblem("expressroute.circuits", "two circuits with one name")


def _check_ranges(onprem: OnPrem, er: ExpressRoute, vpn: Vpn, az: AzureSide) -> None:
    ranges: list[tuple[str, Net]] = [("onprem.lan", Net(onprem.lan))]
    for field, link in er_links(er):
        for part in ("peering", "gateway_link"):
            net = Net(getattr(link, part))
            if net.prefixlen != 30:
                raise FieldProblem(f"{field}.{part}", f"{net} must be a /30 (two addresses)")
            ranges.append((f"{field}.{part}", net))
    tunnels = len(vpn.devices) * len(vpn.instances)
    for part in ("underlay", "bgp_range"):
        net = Net(getattr(vpn, part))
        if net.num_addresses < 4 * tunnels:
            raise FieldProblem(f"vpn.{part}", f"{net} has no /30 for each of {tunnels} tunnels")
        ranges.append((f"vpn.{part}", net))
    if not Net(vpn.bgp_range).subnet_of(Net("169.254.0.0/16")):
        raise FieldProblem("vpn.bgp_range", f"{vpn.bgp_range} is not an APIPA range (169.254.x.x)")
    ranges.append(("azure.vnet", Net(az.vnet)))
    for name, sp in az.spokes.items():
        ranges.append((f"azure.spokes.{name}.vnet", Net(sp.vnet)))
    for i, (name_a, net_a) in enumerate(ranges):
        for name_b, net_b in ranges[i + 1 :]:
            if net_a.overlaps(net_b):
                raise FieldProblem(
                    name_b, f"{net_b} overlaps {name_a} ({net_a}); give each its own range"
                )


def _check_hosts(onprem: OnPrem, az: AzureSide) -> None:
    lan = Net(onprem.lan)
    seen: set[str] = set()
    for part in ("routers", "hosts"):
        for name, addr in getattr(onprem, part).items():
            _usable(f"onprem.{part}.{name}", addr, lan, seen)
    gw = Net(az.gateway_subnet)
    subnet_nets: list[tuple[str, Net]] = []
    for field, s in _subnets(az):
        net = Net(s.prefix)
        within = Net(az.vnet) if field.startswith("azure.subnets") else _spoke_vnet(az, field)
        if not net.subnet_of(within):
            raise FieldProblem(f"{field}.prefix", f"{net} is not inside its VNet ({within})")
        if net.overlaps(gw):
            raise FieldProblem(f"{field}.prefix", f"{net} overlaps the GatewaySubnet ({gw})")
        for other, onet in subnet_nets:
            if net.overlaps(onet):
                raise FieldProblem(f"{field}.prefix", f"{net} overlaps {other} ({onet})")
        subnet_nets.append((field, net))
        taken = {str(net.network_address + 1)}  # the VNet router's address in the subnet
        for name, addr in s.hosts.items():
            _usable(f"{field}.hosts.{name}", addr, net, taken)


def _spoke_vnet(az: AzureSide, field: str) -> Net:
    return Net(az.spokes[field.split(".")[2]].vnet)


def _usable(field: str, addr: str, net: Net, seen: set[str]) -> None:
    ip = ipaddress.IPv4Address(addr)
    if ip not in net or ip in (net.network_address, net.broadcast_address):
        raise FieldProblem(field, f"{addr} is not a host address of {net}")
    if addr in seen:
        raise FieldProblem(field, f"{addr} is used twice in {net}")
    seen.add(addr)


def _check_gateway_subnet(vpn: Vpn, az: AzureSide) -> None:
    vnet, gw = Net(az.vnet), Net(az.gateway_subnet)
    if not gw.subnet_of(vnet):
        raise FieldProblem("azure.gateway_subnet", f"{gw} is not inside azure.vnet ({vnet})")
    seen: set[str] = set()
    _usable("azure.er_gateway", az.er_gateway, gw, seen)
    for name, addr in vpn.instances.items():
        _usable(f"vpn.instances.{name}", addr, gw, seen)
    _usable("azure.vnet_router", az.vnet_router, gw, seen)


def _check_advertised(onprem: OnPrem, az: AzureSide) -> None:
    own = {
        "onprem": [Net(onprem.lan)],
        "azure": [Net(az.vnet), *(Net(s.vnet) for s in az.spokes.values())],
    }
    for side, adv in (("onprem", onprem.advertise), ("azure", az.advertise)):
        for path in ("expressroute", "vpn"):
            for i, p in enumerate(getattr(adv, path)):
                net = Net(p)
                if not any(net.subnet_of(o) or o.subnet_of(net) for o in own[side]):
                    ranges = ", ".join(map(str, own[side]))
                    raise FieldProblem(
                        f"{side}.advertise.{path}.{i}", f"{net} is not within {ranges}"
                    )
