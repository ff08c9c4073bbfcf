"""Build a lab from its topology: namespaces, links, addresses, and the real daemons."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pyroute2 import IPRoute, netns
from tenacity import RetryError, Retrying, retry_if_result, stop_before_delay, wait_fixed

from erdrill.core.errors import LabError
from erdrill.lab import bird, firewall, swan
from erdrill.lab.plan import Tunnel, plan
from erdrill.lab.topology import Topology
from erdrill.lab.wiring import path_signals, router_signals

__all__ = ["Buildable", "build", "start_daemons", "wait_until"]

UNSHARE = ("unshare", "--mount", "--propagation", "private", "sh", "-c")  # charon's own /run


class Buildable(Protocol):
    """What building needs of a lab: its topology, folders, namespaces and netlink."""

    topology: Topology
    run_dir: Path
    events_path: Path

    def namespace(self, node: str) -> str: ...
    def node_dir(self, node: str) -> Path: ...
    def ipr(self, node: str) -> contextlib.AbstractContextManager[IPRoute]: ...
    def swanctl_at(self, end_dir: Path, *args: str) -> subprocess.CompletedProcess[str]: ...


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
    """Poll `check` until it is true; a LabError naming `what` after `timeout` seconds."""
    try:
        for attempt in Retrying(
            stop=stop_before_delay(timeout),
            wait=wait_fixed(interval),
            retry=retry_if_result(lambda ok: not ok),
        ):
            with attempt:
                ok = check()
            if not attempt.retry_state.outcome or not attempt.retry_state.outcome.failed:
                attempt.retry_state.set_result(ok)
    except RetryError:
        raise LabError(f"timed out after {timeout:.0f} s waiting for {what}") from None


def build(lab: Buildable) -> None:
    """Namespaces, veth pairs, bridges, addresses and default routes, from the topology."""
    p = plan(lab.topology)
    if lab.events_path.exists():
        lab.events_path.rename(lab.run_dir / "events.previous.jsonl")
    for node in p.nodes:
        netns.create(lab.namespace(node))
        _sysctls(lab.namespace(node), router=node in p.routers)  # before any interface exists
        d = lab.node_dir(node)
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    for a, ia, b, ib in p.veths:
        with lab.ipr(a) as ipr:
            ipr.link(
                "add",
                ifname=ia,
                kind="veth",
                peer={"ifname": ib, "net_ns_fd": lab.namespace(b)},
            )
    for node in p.nodes:
        with lab.ipr(node) as ipr:
            for br, ports in p.bridges.get(node, []):
                ipr.link("add", ifname=br, kind="bridge", br_stp_state=0, br_forward_delay=0)
                br_idx = ipr.link_lookup(ifname=br)[0]
                for port in ports:
                    idx = ipr.link_lookup(ifname=port)[0]
                    ipr.link("set", index=idx, master=br_idx, state="up")
                ipr.link("set", index=br_idx, state="up")
            for link in ipr.get_links():
                ipr.link("set", index=link["index"], state="up")
            for iface, cidr in p.addresses.get(node, []):
                ip = ipaddress.IPv4Interface(cidr)
                idx = ipr.link_lookup(ifname=iface)[0]
                ipr.addr("add", index=idx, address=str(ip.ip), prefixlen=ip.network.prefixlen)
            if node in p.default_routes:
                ipr.route("add", dst="0.0.0.0/0", gateway=p.default_routes[node])


def _spawn(
    lab: Buildable, node: str, name: str, argv: list[str], env: dict[str, str] | None = None
) -> int:
    d = lab.node_dir(node)
    with (d / f"{name}.out").open("ab") as out:
        proc = subprocess.Popen(
            ["ip", "netns", "exec", lab.namespace(node), *argv],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )
    return proc.pid


def _ends(t: Topology) -> list[tuple[str, int, Tunnel, str]]:
    """Every tunnel end: (node, end number in that node, tunnel, side)."""
    out = []
    for tun in plan(t).tunnels:
        out.append((tun.device, tun.device_end, tun, "device"))
        out.append((tun.instance, tun.instance_end, tun, "instance"))
    return out


def start_daemons(lab: Buildable) -> None:
    """charon per tunnel end and BIRD per router, the workloads' service, the route watchers;
    load the SAs."""
    t = lab.topology
    p = plan(t)
    psk = os.environ.get("ERDRILL_LAB_PSK") or secrets.token_urlsafe(24)
    ends = _ends(t)
    rounds = sorted({end for _, end, _, _ in ends})
    for r in rounds:  # kernel-libipsec names its TUN ipsec<next free>: one end per node a round
        this = [e for e in ends if e[1] == r]
        for node, end, tun, side in this:
            _start_charon(lab, node, end, tun, side, psk)
        for node, end, tun, side in this:
            local, peer = (
                (tun.device_bgp, tun.instance_bgp)
                if side == "device"
                else (tun.instance_bgp, tun.device_bgp)
            )
            _setup_tunnel(lab, node, end, local, peer)
    for node in p.routers:
        d = lab.node_dir(node)
        if node in {link.msee for link in p.links}:
            (d / bird.MAINTENANCE_FILE).write_text(bird.maintenance_conf(False))
        (d / "bird.conf").write_text(bird.render(node, t, d))
        _spawn(
            lab,
            node,
            "bird",
            [
                "bird",
                "-f",
                "-c",
                str(d / "bird.conf"),
                "-s",
                str(d / "bird.ctl"),
                "-P",
                str(d / "bird.pid"),
            ],
        )
    for node, _, _ in p.workloads:
        _spawn(
            lab,
            node,
            "service",
            [sys.executable, "-P", "-m", "erdrill.lab.service", str(t.azure.workload_tcp_port)],
        )
    for signals in path_signals(t):  # the ground-truth log of every route change
        argv = [
            "-P",
            "-m",
            "erdrill.lab.watch",
            signals.node,
            str(lab.events_path),
            *signals.watch_args(),
        ]
        _spawn(lab, signals.node, "watch", [sys.executable, *argv])
    for router, sig in router_signals(t).items() if t.firewall.stateful else ():
        zones = {iface: hop.kind for iface, hop in sig.by_oif.items()}
        if sig.side == "onprem":  # the optional stateful firewall (lab/firewall.py)
            firewall.install(lab.namespace(router), zones, t.firewall)
    for side in ("instance", "device"):  # responders first, then the initiators
        for node, end, _, s in ends:
            if s != side:
                continue
            d = swan.end_dir(lab.node_dir(node), end)
            out = lab.swanctl_at(d, "--load-all", "--file", str(d / "swanctl.conf"))
            if out.returncode != 0:
                raise LabError(
                    f"swanctl --load-all failed in {node}: "
                    f"{out.stderr.strip() or out.stdout.strip()}"
                )


def _start_charon(lab: Buildable, node: str, end: int, tun: Tunnel, side: str, psk: str) -> None:
    d = swan.end_dir(lab.node_dir(node), end)
    d.mkdir(parents=True, exist_ok=True)
    (d / "strongswan.conf").write_text(swan.strongswan_conf(d, tun.ports()))
    conf = d / "swanctl.conf"
    conf.touch(mode=0o600)
    conf.write_text(swan.swanctl_conf(tun, side, psk))
    _spawn(
        lab,
        node,
        "charon" if end == 0 else f"charon{end}",
        [*UNSHARE, "mount -t tmpfs tmpfs /run && exec /usr/lib/ipsec/charon"],
        env={"STRONGSWAN_CONF": str(d / "strongswan.conf")},
    )


def _setup_tunnel(lab: Buildable, node: str, end: int, local: str, peer: str) -> None:
    """Address the libipsec TUN device and drop the catch-all rule charon adds."""
    d = swan.end_dir(lab.node_dir(node), end)
    tun_dev = f"ipsec{end}"
    wait_until(lambda: (d / "charon.vici").exists(), 10, f"charon's control socket in {node}", 0.02)
    with lab.ipr(node) as ipr:

        def tun() -> bool:
            return bool(ipr.link_lookup(ifname=tun_dev))

        wait_until(tun, 10, f"the {tun_dev} device in {node}", 0.02)
        idx = ipr.link_lookup(ifname=tun_dev)[0]
        ipr.addr("add", index=idx, local=local, address=peer, prefixlen=32)
        ipr.link("set", index=idx, state="up")
        for rule in ipr.get_rules(family=2):
            if (
                rule.get("FRA_TABLE") == swan.LIBIPSEC_TABLE
                or rule.get("table") == swan.LIBIPSEC_TABLE
            ):
                ipr.rule("del", table=swan.LIBIPSEC_TABLE, priority=rule.get("FRA_PRIORITY"))
        ipr.flush_routes(table=swan.LIBIPSEC_TABLE)


def _sysctls(ns: str, router: bool) -> None:
    values = {
        "net/ipv4/ip_forward": "1" if router else "0",
        "net/ipv4/conf/all/rp_filter": "0",
        "net/ipv4/conf/default/rp_filter": "0",
        # a router handing traffic to another across the LAN must not redirect the host there
        "net/ipv4/conf/all/send_redirects": "0",
        "net/ipv4/conf/default/send_redirects": "0",
        "net/ipv4/conf/all/accept_redirects": "0",
        "net/ipv4/conf/default/accept_redirects": "0",
        "net/ipv6/conf/all/disable_ipv6": "1",
        "net/ipv6/conf/default/disable_ipv6": "1",
    }
    netns.pushns(ns)
    try:
        for key, value in values.items():
            Path("/proc/sys", key).write_text(value)
    finally:
        netns.popns()
