"""What a running lab says about itself: BGP sessions, tunnels, paths, route tables.

Read from the daemons and the kernel FIBs, named and classified by the topology.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from pyroute2 import IPRoute

from erdrill.core.paths import PathKind, PathPair
from erdrill.core.routes import RouteEntry, RouteTable
from erdrill.lab import bird, swan
from erdrill.lab.plan import plan
from erdrill.lab.sessions import router_sessions
from erdrill.lab.topology import Topology
from erdrill.lab.wiring import Hop, PathSignals, route_hop, router_signals

__all__ = [
    "Observable",
    "bgp_sessions",
    "learned_prefixes",
    "paths",
    "route_tables",
    "tunnel_states",
]

RTPROT_BIRD = 12


class Observable(Protocol):
    topology: Topology

    def node_dir(self, node: str) -> Path: ...
    def ipr(self, node: str) -> contextlib.AbstractContextManager[IPRoute]: ...
    def birdc(self, node: str, command: str) -> str: ...


def bgp_sessions(lab: Observable) -> dict[str, str]:
    """Every BGP session of the lab, `node/protocol` -> state."""
    states: dict[str, str] = {}
    for node in plan(lab.topology).routers:
        sock = lab.node_dir(node) / "bird.ctl"
        parsed = bird.parse_protocols(bird.birdc(sock, "show protocols")) if sock.exists() else {}
        for s in router_sessions(lab.topology, node):
            states[f"{node}/{s.name}"] = parsed.get(s.name, "down")
    return states


def tunnel_states(lab: Observable) -> dict[str, str]:
    """Every tunnel, `device -> instance-N` -> up/down (both ends' SAs established)."""
    out = {}
    for tun in plan(lab.topology).tunnels:
        ends = (
            swan.end_dir(lab.node_dir(tun.device), tun.device_end),
            swan.end_dir(lab.node_dir(tun.instance), tun.instance_end),
        )
        up = all(swan.sa_established(d) for d in ends)
        out[f"{tun.device} -> {tun.label} ({tun.instance})"] = "up" if up else "down"
    return out


def _walk(
    lab: Observable, signals: dict[str, PathSignals], start: str, dst: str, full: bool
) -> Hop:
    """Follow the FIBs from `start` towards `dst` until a router names the link or instance.

    Without `full`, stop as soon as the path (not its detail) is known.
    """
    node, kind, detail, seen = start, PathKind.UNKNOWN, "", {start}
    for _ in range(len(signals)):
        with lab.ipr(node) as ipr:
            hop = route_hop(ipr, dst, signals[node])
        if hop.kind is PathKind.NONE and node == start:
            return hop
        if hop.kind not in (PathKind.UNKNOWN, PathKind.NONE):
            kind = hop.kind
        detail = hop.detail or detail
        known = kind is not PathKind.UNKNOWN and (detail or not full)
        if known or not hop.follow or hop.follow in seen:
            break
        node = hop.follow
        seen.add(node)
    return Hop(kind, detail)


def paths(lab: Observable, to: str | None = None, full: bool = False) -> PathPair:
    """The path in use each way between the probe host and a workload (the first by default)."""
    t = lab.topology
    signals = router_signals(t)
    fwd = _walk(lab, signals, plan(t).lan_owner, to or t.workload_address, full)
    ret = _walk(lab, signals, t.azure.vnet_node, t.host_address, full)
    return PathPair(fwd.kind, ret.kind, fwd.detail, ret.detail)


def _table(lab: Observable, signals: PathSignals) -> Iterator[RouteEntry]:
    with lab.ipr(signals.node) as ipr:
        names = {link["index"]: link.get("IFLA_IFNAME") for link in ipr.get_links()}
        for r in ipr.get_routes(family=2, table=254):
            if r.get("proto") != RTPROT_BIRD:  # only what BGP installed
                continue
            nh = r.get("RTA_GATEWAY") or ""
            dev = names.get(r.get("RTA_OIF") or -1, "")
            hop = signals.hop(nh, dev)
            yield RouteEntry(
                prefix=f"{r.get('RTA_DST')}/{r['dst_len']}",
                next_hop=nh or dev,
                path=hop.kind,
                source="bgp" if not hop.detail else f"bgp ({hop.detail})",
            )


def route_tables(lab: Observable) -> list[RouteTable]:
    """The kernel FIBs of every router that picks a path, each entry classified."""
    tables = []
    for signals in router_signals(lab.topology).values():
        entries = sorted(_table(lab, signals), key=lambda e: e.prefix)
        tables.append(RouteTable(signals.node, signals.side, time.time(), entries))
    return tables


def learned_prefixes(lab: Observable) -> dict[str, dict[str, list[str]]]:
    """Prefixes each side learns over each path, from the BGP daemons' tables."""
    t = lab.topology
    found: dict[str, dict[str, set[str]]] = {
        "onprem": {"expressroute": set(), "vpn": set()},
        "azure": {"expressroute": set(), "vpn": set()},
    }
    for node in t.onprem.routers:
        for s in router_sessions(t, node):
            if s.kind in ("expressroute", "vpn"):
                found["onprem"][s.kind] |= _bird_prefixes(
                    lab.birdc(node, f"show route protocol {s.name}")
                )
    for s in router_sessions(t, t.azure.vnet_node):
        path = "expressroute" if s.name == "ergw" else "vpn"
        found["azure"][path] |= _bird_prefixes(
            lab.birdc(t.azure.vnet_node, f"show route protocol {s.name}")
        )
    return {side: {p: sorted(v) for p, v in d.items()} for side, d in found.items()}


def _bird_prefixes(output: str) -> set[str]:
    """Prefixes listed by `show route protocol X` (one per route block)."""
    found = set()
    for line in output.splitlines():
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if first[:1].isdigit() and "/" in first:
            found.add(first)
    return found
