"""An optional stateful firewall on the on-premises routers (nftables conntrack), declared in
the topology (`firewall: {stateful: true}`), so asymmetric routing and path changes show
up as the broken sessions users suffer.

The model: a real site puts a stateful firewall in front of the CE router and another in
front of the VPN device (or one firewall with the two paths in two zones), and their
state is not shared. Each TCP connection is pinned to the path *zone* it was first seen
on (ExpressRoute or VPN: the router's interfaces of that path, from `lab.wiring`):

- the first packet of a connection crossing a zone interface must be a SYN; any other
  packet without state is dropped ("non-SYN first packet", counter ``no_state``), as a
  firewall drops mid-stream traffic of a session it never saw open;
- the connection is marked (ct mark) with the zone of the interface its SYN left or
  arrived on; later packets of it on an interface of another zone are dropped (counter
  ``zone_change``), or answered with an RST when `on_mismatch` is ``reset``.

So with routing asymmetric in the steady state (out over the VPN, back over ExpressRoute)
the SYN-ACK arrives in the wrong zone and connections never open; and a session opened on
ExpressRoute stalls from the failover until the failback, which breaks it whenever the
fault lasts longer than the application's timeout. Only TCP is tracked: ICMP and the
routers' own traffic (BGP, IKE) pass, so the lab's reachability checks and the ICMP probes
keep measuring the routing itself. Each router gets its own table (its own state): a flow
handed from one router to another meets a firewall that never saw it open.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict

from erdrill.core.errors import LabError
from erdrill.core.paths import PathKind

__all__ = ["TABLE", "Firewall", "dropped", "install", "nft_script"]

TABLE = "erdrill_firewall"
_MARKS = {PathKind.EXPRESSROUTE: 1, PathKind.VPN: 2}


class Firewall(BaseModel):
    """The on-premises firewall: off by default; `stateful` pins connections to path zones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stateful: bool = False
    on_mismatch: Literal["drop", "reset"] = "drop"  # a packet in the wrong zone


def _set(ifaces: list[str]) -> str:
    return "{ " + ", ".join(f'"{i}"' for i in sorted(ifaces)) + " }"


def nft_script(zones: Mapping[str, PathKind], on_mismatch: str = "drop") -> str:
    """The nftables table for one router; `zones` maps its path interfaces to their path."""
    by_zone: dict[PathKind, list[str]] = {}
    for iface, kind in zones.items():
        if kind in _MARKS:
            by_zone.setdefault(kind, []).append(iface)
    if not by_zone:
        raise LabError(f"no ExpressRoute or VPN interface to put in a firewall zone: {zones}")
    every = _set([i for ifaces in by_zone.values() for i in ifaces])
    verdict = "reject with tcp reset" if on_mismatch == "reset" else "drop"
    lines = [
        f"table inet {TABLE} {{",
        "    counter no_state { }",
        "    counter zone_change { }",
        "    chain forward {",
        "        type filter hook forward priority filter; policy accept;",
        "        meta l4proto != tcp accept",
        f'        ct state new tcp flags & (fin | syn | rst | ack) != syn oifname {every} counter name "no_state" drop',
        f'        ct state new tcp flags & (fin | syn | rst | ack) != syn iifname {every} counter name "no_state" drop',
    ]
    for kind, ifaces in sorted(by_zone.items(), key=lambda kv: _MARKS[kv[0]]):
        mark, names = _MARKS[kind], _set(ifaces)
        lines += [
            f"        ct mark 0 oifname {names} ct mark set {mark}",
            f"        ct mark 0 iifname {names} ct mark set {mark}",
            f'        oifname {names} ct mark != {mark} counter name "zone_change" {verdict}',
            f'        iifname {names} ct mark != {mark} counter name "zone_change" {verdict}',
        ]
    lines += ["    }", "}", ""]
    return "\n".join(lines)


def install(namespace: str, zones: Mapping[str, PathKind], firewall: Firewall) -> None:
    """Put the firewall in one router's namespace (replacing any earlier one); off: nothing."""
    if not firewall.stateful:
        return
    script = f"table inet {TABLE}\ndelete table inet {TABLE}\n"
    script += nft_script(zones, firewall.on_mismatch)
    out = subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise LabError(f"the firewall in {namespace} failed to load: {out.stderr.strip()}")


def dropped(namespace: str) -> dict[str, int]:
    """Packets the firewall in `namespace` dropped so far, by counter (empty: no firewall)."""
    out = subprocess.run(
        ["ip", "netns", "exec", namespace, "nft", "-j", "list", "counters", "table", "inet", TABLE],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {}
    counts = {}
    for item in json.loads(out.stdout).get("nftables", []):
        counter = item.get("counter")
        if counter:
            counts[str(counter["name"])] = int(counter["packets"])
    return counts
