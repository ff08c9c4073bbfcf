"""BIRD 2 configuration for each router of the lab, and its control-socket client."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

from erdrill.lab.sessions import Session, azure_advertised, router_sessions
from erdrill.lab.topology import EffectiveTimers, Topology

__all__ = ["MAINTENANCE_FILE", "birdc", "maintenance_conf", "parse_protocols", "render"]

MAINTENANCE_FILE = "maintenance.conf"  # an MSEE's switch for maintenance prepends


def _ip(iface: str) -> str:
    return str(ipaddress.IPv4Interface(iface).ip)


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


def _originate(name: str, nets: list[str]) -> str:
    """A static protocol holding every prefix this side advertises over either path.

    The routes are unreachable placeholders: the kernel protocol exports only BGP routes,
    so they live in BIRD alone and exist to be advertised.
    """
    routes = "".join(f"    route {p} unreachable;\n" for p in sorted(set(nets)))
    return f"protocol static {name} {{\n    ipv4;\n{routes}}}\n"


def _bfd(sessions: list[Session]) -> str:
    blocks = []
    for s in sessions:
        if s.bfd_iface:
            ms = s.timers.bfd_interval_ms
            blocks.append(
                f'    interface "{s.bfd_iface}" {{\n'
                f"        min rx interval {ms} ms; min tx interval {ms} ms; "
                f"idle tx interval {ms} ms;\n"
                f"        multiplier {s.timers.bfd_multiplier};\n    }};\n"
            )
    return "protocol bfd {\n" + "".join(blocks) + "}\n" if blocks else ""


def _bgp(s: Session) -> str:
    extra = ("    bfd on;\n" if s.bfd_iface else "") + (
        "    check link yes;\n" if s.check_link else ""
    )
    channel = "        next hop self;\n        gateway direct;\n" if s.ibgp else ""
    return (
        f"protocol bgp {s.name} {{\n"
        f"    local {s.local} as {s.local_as};\n"
        f"    neighbor {s.neighbor} as {s.neighbor_as};\n"
        f"    direct;\n{_timers(s.timers)}{extra}"
        f"    ipv4 {{\n        import {s.import_filter};\n        export {s.export_filter};\n"
        f"{channel}    }};\n"
        "}\n"
    )


def maintenance_conf(on: bool) -> str:
    """The MSEE's maintenance switch (included by its bird.conf): prepend its AS when on."""
    return f"define MAINTENANCE = {1 if on else 0};\n"


def render(node: str, topo: Topology, node_dir: Path) -> str:
    """The bird.conf for one router."""
    sessions = router_sessions(topo, node)
    if not sessions:
        raise ValueError(f"{node} runs no BIRD")
    log = node_dir / "bird.log"
    o, az = topo.onprem, topo.azure
    head = _header(node, sessions[0].local, log)
    if node in o.routers:
        head = _header(node, o.routers[node], log)
        head += _originate("onprem_prefixes", [*o.advertise.expressroute, *o.advertise.vpn])
    elif node == az.er_gateway_node:
        head = _header(node, az.er_gateway, log)
    elif node in topo.vpn.instances:
        head = _header(node, topo.vpn.instances[node], log)
    elif node == az.vnet_node:
        head = _header(node, az.vnet_router, log)
        head += _originate("vnet_prefixes", [p for adv in azure_advertised(topo) for p in adv])
    elif any(s.name == "ce" and s.kind == "expressroute" for s in sessions):  # an MSEE
        head += f'include "{node_dir / MAINTENANCE_FILE}";\n'
    return head + _bfd(sessions) + "".join(_bgp(s) for s in sessions)


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
