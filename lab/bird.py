"""BIRD 2 configuration for each router of the lab, and its control-socket client."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from lab.topology import Advertise, EffectiveTimers, Topology

__all__ = ["SESSIONS", "birdc", "parse_protocols", "render"]

# BGP protocol names per router: (name, description). `vpn` is reserved in BIRD.
SESSIONS: dict[str, dict[str, str]] = {
    "onprem-edge": {"er": "expressroute", "s2s": "vpn"},
    "msee": {"ce": "expressroute", "ergw": "expressroute"},
    "er-gateway": {"msee": "expressroute", "vnet": "ibgp"},
    "vpn-gateway": {"onprem": "vpn", "vnet": "ibgp"},
    "vnet": {"ergw": "ibgp", "vpngw": "ibgp"},
}


def _ip(iface: str) -> str:
    return str(ipaddress.IPv4Interface(iface).ip)


def _prefix_set(nets: list[str]) -> str:
    return "[ " + ", ".join(nets) + " ]" if nets else "[ 0.0.0.0/32 ]"


def _timers(t: EffectiveTimers) -> str:
    return (
        f"    hold time {t.hold_s}; keepalive time {t.keepalive_s};\n"
        f"    connect retry time {t.connect_retry_s}; connect delay time 1;\n"
        f"    error wait time {t.error_wait_s}, {max(t.error_wait_s * 4, 4)};\n"
    )


def _header(node: str, router_id: str, log: Path) -> str:
    return (
        f"# erdrill lab: {node}\n"
        f'log "{log}" all;\n'
        f"router id {router_id};\n"
        "protocol device { scan time 10; }\n"
        "protocol kernel {\n"
        "    ipv4 { import none; export where source = RTS_BGP; };\n"
        "    merge paths off;\n"
        "}\n"
    )


def _originate(name: str, advertise: Advertise) -> str:
    """A static protocol holding every prefix this side advertises over either path.

    The routes are unreachable placeholders: the kernel protocol exports only BGP routes,
    so they live in BIRD alone and exist to be advertised.
    """
    nets = sorted(set(advertise.expressroute) | set(advertise.vpn))
    routes = "".join(f"    route {p} unreachable;\n" for p in nets)
    return f"protocol static {name} {{\n    ipv4;\n{routes}}}\n"


def _bfd(iface: str, t: EffectiveTimers) -> str:
    if not t.bfd:
        return ""
    ms = t.bfd_interval_ms
    return (
        f'protocol bfd {{\n    interface "{iface}" {{\n'
        f"        min rx interval {ms} ms; min tx interval {ms} ms; idle tx interval {ms} ms;\n"
        f"        multiplier {t.bfd_multiplier};\n    }};\n}}\n"
    )


def _bgp(
    name: str,
    local: str,
    local_as: int,
    neighbor: str,
    neighbor_as: int,
    t: EffectiveTimers,
    *,
    import_filter: str = "all",
    export_filter: str = "none",
    extra: str = "",
    channel_extra: str = "",
) -> str:
    return (
        f"protocol bgp {name} {{\n"
        f"    local {local} as {local_as};\n"
        f"    neighbor {neighbor} as {neighbor_as};\n"
        f"    direct;\n{_timers(t)}{extra}"
        f"    ipv4 {{\n        import {import_filter};\n        export {export_filter};\n{channel_extra}    }};\n"
        "}\n"
    )


def render(node: str, topo: Topology, node_dir: Path) -> str:
    """The bird.conf for one router."""
    t = topo.effective_timers
    o, m, a = topo.onprem, topo.msee, topo.azure
    log = node_dir / "bird.log"
    bfd_on = "    bfd on;\n" if t.bfd else ""
    link_check = "    check link yes;\n"
    if node == "onprem-edge":
        adv_er = _prefix_set(o.advertise.expressroute)
        adv_vpn = _prefix_set(o.advertise.vpn)
        prepend = "".join(f"bgp_path.prepend({o.asn}); " for _ in range(o.vpn_prepend))
        return (
            _header(node, _ip(o.lan), log)
            + _originate("onprem_prefixes", o.advertise)
            + _bfd("er0", t)
            + _bgp(
                "er",
                _ip(o.er_address),
                o.asn,
                _ip(m.ce_address),
                m.asn,
                t,
                import_filter=f"filter {{ bgp_local_pref = {o.local_pref.expressroute}; accept; }}",
                export_filter=f"where source = RTS_STATIC && net ~ {adv_er}",
                extra=bfd_on + link_check,
            )
            + _bgp(
                "s2s",
                o.vpn_bgp,
                o.asn,
                a.vpn_bgp,
                a.asn,
                t,
                import_filter=f"filter {{ bgp_local_pref = {o.local_pref.vpn}; accept; }}",
                export_filter=f"filter {{ if source = RTS_STATIC && net ~ {adv_vpn} then {{ {prepend}accept; }} reject; }}",
            )
        )
    if node == "msee":
        return (
            _header(node, _ip(m.ce_address), log)
            + _bfd("ce", t)
            + _bgp(
                "ce",
                _ip(m.ce_address),
                m.asn,
                _ip(o.er_address),
                o.asn,
                t,
                export_filter="where source = RTS_BGP",
                extra=bfd_on + link_check,
            )
            + _bgp(
                "ergw",
                _ip(m.gateway_link),
                m.asn,
                _ip(a.er_gateway_link),
                a.asn,
                t,
                export_filter="where source = RTS_BGP",
                extra=link_check,
            )
        )
    ibgp_channel = "        next hop self;\n        gateway direct;\n"
    if node in ("er-gateway", "vpn-gateway"):
        # (router id/iBGP address, eBGP session name, local, peer, peer AS, link check)
        ebgp = {
            "er-gateway": (
                a.er_gateway,
                "msee",
                _ip(a.er_gateway_link),
                _ip(m.gateway_link),
                m.asn,
                link_check,
            ),
            "vpn-gateway": (a.vpn_gateway, "onprem", a.vpn_bgp, o.vpn_bgp, o.asn, ""),
        }
        own, name, local, peer, peer_as, extra = ebgp[node]
        return (
            _header(node, own, log)
            + _bgp(
                name,
                local,
                a.asn,
                peer,
                peer_as,
                t,
                export_filter="where source = RTS_BGP",
                extra=extra,
            )
            + _bgp(
                "vnet",
                own,
                a.asn,
                a.vnet_router,
                a.asn,
                t,
                export_filter="where source = RTS_BGP",
                channel_extra=ibgp_channel,
            )
        )
    if node == "vnet":
        # iBGP to each gateway; the local preference makes Azure prefer ExpressRoute
        sessions = (
            ("ergw", a.er_gateway, a.local_pref.expressroute, a.advertise.expressroute),
            ("vpngw", a.vpn_gateway, a.local_pref.vpn, a.advertise.vpn),
        )
        return (
            _header(node, a.vnet_router, log)
            + _originate("vnet_prefixes", a.advertise)
            + "".join(
                _bgp(
                    name,
                    a.vnet_router,
                    a.asn,
                    gateway,
                    a.asn,
                    t,
                    import_filter=f"filter {{ bgp_local_pref = {pref}; accept; }}",
                    export_filter=f"where source = RTS_STATIC && net ~ {_prefix_set(nets)}",
                    channel_extra=ibgp_channel,
                )
                for name, gateway, pref, nets in sessions
            )
        )
    raise ValueError(f"{node} runs no BIRD")


def birdc(socket: Path, command: str, timeout: float = 5.0) -> str:
    """Run one BIRD CLI command against a control socket and return its output."""
    out = subprocess.run(
        ["birdc", "-s", str(socket), *command.split()],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return out.stdout


def parse_protocols(output: str) -> dict[str, str]:
    """BGP session states from `show protocols`: name -> established/down/connecting/..."""
    states: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[1] == "BGP":
            state, info = parts[3], " ".join(parts[5:]) if len(parts) > 5 else ""
            if state == "up" and "Established" in info:
                states[parts[0]] = "established"
            elif state == "down":
                states[parts[0]] = "disabled" if "disabled" in line.lower() else "down"
            else:
                states[parts[0]] = info.split()[0].lower() if info else state
    return states
