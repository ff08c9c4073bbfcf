"""Every BGP session of the lab, per router, derived from the plan (bird.py renders them)."""

from __future__ import annotations

from dataclasses import dataclass

from erdrill.lab.plan import plan
from erdrill.lab.topology import EffectiveTimers, Topology

__all__ = ["MAINTENANCE_PREPEND", "Session", "azure_advertised", "router_sessions", "sessions"]

MAINTENANCE_PREPEND = 3  # AS-path prepends an MSEE adds before maintenance


@dataclass(frozen=True)
class Session:
    """One BGP session as one router sees it."""

    name: str  # the BIRD protocol name (`vpn` is reserved in BIRD)
    kind: str  # expressroute | vpn | ibgp
    local: str
    local_as: int
    neighbor: str
    neighbor_as: int
    timers: EffectiveTimers
    detail: str = ""  # the link (primary, secondary) or VPN instance (instance-1)
    bfd_iface: str = ""
    check_link: bool = False
    import_filter: str = "all"
    export_filter: str = "none"
    ibgp: bool = False


def _prefix_set(nets: list[str]) -> str:
    return "[ " + ", ".join(nets) + " ]" if nets else "[ 0.0.0.0/32 ]"


def azure_advertised(t: Topology) -> tuple[list[str], list[str]]:
    """What the VNet advertises over ExpressRoute and over the VPN: the hub's prefixes and,
    through gateway transit, every spoke that uses the hub's gateways."""
    spokes = [sp.vnet for sp in t.azure.spokes.values() if sp.use_remote_gateways]
    adv = t.azure.advertise
    return sorted({*adv.expressroute, *spokes}), sorted({*adv.vpn, *spokes})


def _lp(pref: int) -> str:
    return f"filter {{ bgp_local_pref = {pref}; accept; }}"


def _msee_export(asn: int) -> str:
    prepend = "".join(f"bgp_path.prepend({asn}); " for _ in range(MAINTENANCE_PREPEND))
    return (
        "filter { if source != RTS_BGP then reject; "
        f"if MAINTENANCE = 1 then {{ {prepend}}} accept; }}"
    )


def router_sessions(t: Topology, node: str) -> list[Session]:
    """The BGP sessions of one router, in configuration order."""
    p = plan(t)
    o, er, az, timers = t.onprem, t.expressroute, t.azure, t.effective_timers
    out: list[Session] = []
    if node in o.routers:
        adv_er, adv_vpn = _prefix_set(o.advertise.expressroute), _prefix_set(o.advertise.vpn)
        prepend = "".join(f"bgp_path.prepend({o.asn}); " for _ in range(o.vpn_prepend))
        for link in p.links_of(node):
            out.append(Session(
                "er" if len(p.links) == 1 else f"er{link.index}", "expressroute", link.ce_ip,
                o.asn, link.msee_ip, er.asn, link.timers, link.label,
                link.ce_if if link.timers.bfd else "", True, _lp(o.local_pref.expressroute),
                f"where source = RTS_STATIC && net ~ {adv_er}",
            ))  # fmt: skip
        for tun in p.tunnels:
            if tun.device == node:
                out.append(Session(
                    tun.name, "vpn", tun.device_bgp, o.asn, tun.instance_bgp, az.asn, timers,
                    tun.label, import_filter=_lp(o.local_pref.vpn),
                    export_filter=f"filter {{ if source = RTS_STATIC && net ~ {adv_vpn} then "
                    f"{{ {prepend}accept; }} reject; }}",
                ))  # fmt: skip
        for k, (peer, addr) in enumerate(o.routers.items()):
            if peer != node:
                out.append(Session(
                    f"lan{k}", "ibgp", o.routers[node], o.asn, addr, o.asn, timers, peer,
                    export_filter="where source = RTS_BGP", ibgp=True,
                ))  # fmt: skip
        return out
    for link in p.links:
        if node == link.msee:
            export = _msee_export(er.asn)
            return [
                Session("ce", "expressroute", link.msee_ip, er.asn, link.ce_ip, o.asn,
                        link.timers, link.label, "ce" if link.timers.bfd else "", True,
                        export_filter=export),
                Session("ergw", "expressroute", link.msee_gw_ip, er.asn, link.gateway_ip,
                        az.asn, link.timers, link.label, check_link=True, export_filter=export),
            ]  # fmt: skip
    if node == az.er_gateway_node:
        for link in p.links:
            out.append(Session(
                "msee" if len(p.links) == 1 else f"msee{link.index}", "expressroute",
                link.gateway_ip, az.asn, link.msee_gw_ip, er.asn, link.timers, link.label,
                check_link=True, export_filter="where source = RTS_BGP",
            ))  # fmt: skip
        return [*out, _to_vnet(t, az.er_gateway)]
    if node in t.vpn.instances:
        mine = [tun for tun in p.tunnels if tun.instance == node]
        for tun in mine:
            out.append(Session(
                "onprem" if len(mine) == 1 else f"onprem{tun.instance_end}", "vpn",
                tun.instance_bgp, az.asn, tun.device_bgp, o.asn, timers, tun.label,
                export_filter="where source = RTS_BGP",
            ))  # fmt: skip
        return [*out, _to_vnet(t, t.vpn.instances[node])]
    if node == az.vnet_node:
        az_er, az_vpn = azure_advertised(t)
        out.append(Session(
            "ergw", "ibgp", az.vnet_router, az.asn, az.er_gateway, az.asn, timers, "expressroute",
            import_filter=_lp(az.local_pref.expressroute),
            export_filter=f"where source = RTS_STATIC && net ~ {_prefix_set(az_er)}", ibgp=True,
        ))  # fmt: skip
        many = len(t.vpn.instances) > 1
        for i, addr in enumerate(t.vpn.instances.values()):
            out.append(Session(
                f"vpngw{i}" if many else "vpngw", "ibgp", az.vnet_router, az.asn, addr, az.asn,
                timers, f"vpn/instance-{i + 1}", import_filter=_lp(az.local_pref.vpn),
                export_filter=f"where source = RTS_STATIC && net ~ {_prefix_set(az_vpn)}",
                ibgp=True,
            ))  # fmt: skip
        return out
    return []


def _to_vnet(t: Topology, own: str) -> Session:
    az = t.azure
    return Session(
        "vnet", "ibgp", own, az.asn, az.vnet_router, az.asn, t.effective_timers, "vnet",
        export_filter="where source = RTS_BGP", ibgp=True,
    )  # fmt: skip


def sessions(t: Topology) -> dict[str, list[Session]]:
    """Every router's sessions."""
    return {node: router_sessions(t, node) for node in plan(t).routers}
