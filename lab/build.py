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

from core.errors import LabError
from lab import bird, firewall, swan
from lab.topology import NODES, ROUTERS, Topology
from lab.wiring import BRIDGES, LINKS, path_signals

__all__ = ["Buildable", "build", "start_daemons", "wait_until"]


class Buildable(Protocol):
    """What building needs of a lab: its topology, folders, namespaces and netlink."""

    topology: Topology
    run_dir: Path
    events_path: Path

    def namespace(self, node: str) -> str: ...
    def node_dir(self, node: str) -> Path: ...
    def ipr(self, node: str) -> contextlib.AbstractContextManager[IPRoute]: ...
    def swanctl(self, node: str, *args: str) -> subprocess.CompletedProcess[str]: ...


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
    t = lab.topology
    if lab.events_path.exists():
        lab.events_path.rename(lab.run_dir / "events.previous.jsonl")
    for node in NODES:
        netns.create(lab.namespace(node))
        d = lab.node_dir(node)
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    for a, ia, b, ib in LINKS:
        with lab.ipr(a) as ipr:
            ipr.link(
                "add",
                ifname=ia,
                kind="veth",
                peer={"ifname": ib, "net_ns_fd": lab.namespace(b)},
            )
    gw_len = ipaddress.IPv4Network(t.azure.gateway_subnet).prefixlen
    addrs: dict[str, list[tuple[str, str]]] = {
        "onprem-host": [("eth0", t.onprem.host)],
        "onprem-edge": [
            ("lan", t.onprem.lan),
            ("er0", t.onprem.er_address),
            ("inet0", t.onprem.vpn_outer),
        ],
        "msee": [("ce", t.msee.ce_address), ("gw", t.msee.gateway_link)],
        "er-gateway": [
            ("msee", t.azure.er_gateway_link),
            ("gwsub", f"{t.azure.er_gateway}/{gw_len}"),
        ],
        "vpn-gateway": [
            ("inet0", t.azure.vpn_outer),
            ("gwsub", f"{t.azure.vpn_gateway}/{gw_len}"),
        ],
        "vnet": [
            ("gwsub", f"{t.azure.vnet_router}/{gw_len}"),
            ("wl", t.azure.workload_subnet_gateway),
        ],
        "workload": [("eth0", t.azure.workload)],
        "provider": [],
    }
    gateways = {
        "onprem-host": str(ipaddress.IPv4Interface(t.onprem.lan).ip),
        "workload": str(ipaddress.IPv4Interface(t.azure.workload_subnet_gateway).ip),
    }
    for node, items in addrs.items():
        _sysctls(lab.namespace(node), router=node in ROUTERS)
        with lab.ipr(node) as ipr:
            if node in BRIDGES:
                br, ports = BRIDGES[node]
                ipr.link("add", ifname=br, kind="bridge", br_stp_state=0, br_forward_delay=0)
                br_idx = ipr.link_lookup(ifname=br)[0]
                for port in ports:
                    idx = ipr.link_lookup(ifname=port)[0]
                    ipr.link("set", index=idx, master=br_idx, state="up")
                ipr.link("set", index=br_idx, state="up")
            for link in ipr.get_links():
                ipr.link("set", index=link["index"], state="up")
            for iface, cidr in items:
                ip = ipaddress.IPv4Interface(cidr)
                idx = ipr.link_lookup(ifname=iface)[0]
                ipr.addr("add", index=idx, address=str(ip.ip), prefixlen=ip.network.prefixlen)
            if node in gateways:
                ipr.route("add", dst="0.0.0.0/0", gateway=gateways[node])


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


def start_daemons(lab: Buildable) -> None:
    """charon and BIRD per router, the workload's service, the route watchers; load the SAs."""
    t = lab.topology
    edge, vnet = path_signals(t)
    psk = os.environ.get("ERDRILL_LAB_PSK") or secrets.token_urlsafe(24)
    for node in ("onprem-edge", "vpn-gateway"):
        d = lab.node_dir(node)
        (d / "strongswan.conf").write_text(swan.strongswan_conf(d))
        conf = d / "swanctl.conf"
        conf.touch(mode=0o600)
        conf.write_text(swan.swanctl_conf(node, t, psk))
        _spawn(
            lab,
            node,
            "charon",
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                "mount -t tmpfs tmpfs /run && exec /usr/lib/ipsec/charon",
            ],
            env={"STRONGSWAN_CONF": str(d / "strongswan.conf")},
        )
    for node in ROUTERS:
        d = lab.node_dir(node)
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
    _spawn(
        lab,
        "workload",
        "service",
        [sys.executable, "-m", "lab.service", str(t.azure.workload_tcp_port)],
    )
    for signals in (edge, vnet):  # the ground-truth log of every route change
        argv = ["-m", "lab.watch", signals.node, str(lab.events_path), *signals.watch_args()]
        _spawn(lab, signals.node, "watch", [sys.executable, *argv])
    # the optional stateful firewall on the on-premises edge (lab/firewall.py)
    firewall.install(lab.namespace(edge.node), edge.by_oif, t.firewall)
    for node, local, peer in (
        ("onprem-edge", t.onprem.vpn_bgp, t.azure.vpn_bgp),
        ("vpn-gateway", t.azure.vpn_bgp, t.onprem.vpn_bgp),
    ):
        _setup_tunnel(lab, node, local, peer)
    for node in ("vpn-gateway", "onprem-edge"):
        out = lab.swanctl(node, "--load-all", "--file", str(lab.node_dir(node) / "swanctl.conf"))
        if out.returncode != 0:
            raise LabError(
                f"swanctl --load-all failed in {node}: {out.stderr.strip() or out.stdout.strip()}"
            )


def _setup_tunnel(lab: Buildable, node: str, local: str, peer: str) -> None:
    """Address the libipsec TUN device and drop the catch-all rule charon adds."""
    d = lab.node_dir(node)
    wait_until(lambda: (d / "charon.vici").exists(), 10, f"charon's control socket in {node}", 0.02)
    with lab.ipr(node) as ipr:

        def tun() -> bool:
            return bool(ipr.link_lookup(ifname=swan.TUN_DEVICE))

        wait_until(tun, 10, f"the {swan.TUN_DEVICE} device in {node}", 0.02)
        idx = ipr.link_lookup(ifname=swan.TUN_DEVICE)[0]
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
        "net/ipv6/conf/all/disable_ipv6": "1",
        "net/ipv6/conf/default/disable_ipv6": "1",
    }
    netns.pushns(ns)
    try:
        for key, value in values.items():
            Path("/proc/sys", key).write_text(value)
    finally:
        netns.popns()
