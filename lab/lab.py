"""Build, check, break and tear down the lab: namespaces, links and real daemons."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute, netns
from tenacity import RetryError, Retrying, retry_if_result, stop_before_delay, wait_fixed

from core.errors import LabError
from core.paths import PathKind, PathPair
from core.routes import RouteEntry, RouteTable
from lab import bird, events, swan
from lab.faults import FAULTS, fault_kind
from lab.topology import NODES, ROUTERS, Topology, load_topology, preflight

RUN_ROOT = Path(os.environ.get("ERDRILL_LAB_ROOT", "/var/lib/erdrill/labs"))

# (node, interface, node, interface): every veth pair of the lab.
LINKS = (
    ("onprem-host", "eth0", "onprem-edge", "lan"),
    ("onprem-edge", "er0", "provider", "ce"),
    ("provider", "msee", "msee", "ce"),
    ("msee", "gw", "er-gateway", "msee"),
    ("onprem-edge", "inet0", "vpn-gateway", "inet0"),
    ("er-gateway", "gwsub", "vnet", "er"),
    ("vpn-gateway", "gwsub", "vnet", "vpn"),
    ("vnet", "wl", "workload", "eth0"),
)
BRIDGES = {"provider": ("br0", ("ce", "msee")), "vnet": ("gwsub", ("er", "vpn"))}


def _wait(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
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


class Lab:
    """One lab instance, named by its topology's prefix."""

    def __init__(self, topology: Topology | None = None, run_root: Path = RUN_ROOT) -> None:
        self.topology = topology or load_topology()
        self.run_dir = run_root / self.topology.prefix
        self.events_path = self.run_dir / "events.jsonl"
        self._netlink = threading.RLock()

    # ---- discovery -------------------------------------------------------------------

    @classmethod
    def current(cls, prefix: str | None = None, run_root: Path = RUN_ROOT) -> Lab:
        """The lab whose run folder holds a topology (the one `lab up` built), or the default.

        The prefix defaults to $ERDRILL_LAB_PREFIX, else erd-lab.
        """
        prefix = prefix or os.environ.get("ERDRILL_LAB_PREFIX", "erd-lab")
        saved = run_root / prefix / "topology.json"
        if saved.exists():
            from lab.topology import parse_topology

            data = json.loads(saved.read_text())
            return cls(parse_topology(data, data.pop("source", str(saved)) or str(saved)), run_root)
        return cls(run_root=run_root)

    def node_dir(self, node: str) -> Path:
        return self.run_dir / node

    def namespace(self, node: str) -> str:
        return self.topology.namespace(node)

    def existing_namespaces(self) -> list[str]:
        mine = set(self.topology.namespaces)
        return [n for n in netns.listnetns() if n in mine]

    # ---- helpers used by faults and checks ----------------------------------------------

    @contextlib.contextmanager
    def ipr(self, node: str) -> Iterator[IPRoute]:
        """A netlink socket in a node's namespace, one user at a time.

        pyroute2 forks a helper to open a socket in another namespace; forking while another
        thread (the drill's path watcher) is inside pyroute2 can leave the helper stuck on a
        lock that thread held, so this lab's netlink calls are serialised.
        """
        with self._netlink, IPRoute(netns=self.namespace(node)) as ipr:
            yield ipr

    def set_link(self, node: str, iface: str, up: bool) -> None:
        with self.ipr(node) as ipr:
            idx = ipr.link_lookup(ifname=iface)[0]
            ipr.link("set", index=idx, state="up" if up else "down")

    def exec(
        self, node: str, *argv: str, timeout: float = 10.0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside a node's namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.namespace(node), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=stdin,
            check=False,
        )

    def nft(self, node: str, script: str, missing_ok: bool = False) -> None:
        out = self.exec(node, "nft", "-f", "-", stdin=script)
        if out.returncode != 0 and not (missing_ok and "No such file" in out.stderr):
            raise LabError(f"nft in {node} failed: {out.stderr.strip().splitlines()[-1:]}")

    def birdc(self, node: str, command: str) -> str:
        return bird.birdc(self.node_dir(node) / "bird.ctl", command)

    def swanctl(self, node: str, *args: str) -> subprocess.CompletedProcess[str]:
        return swan.swanctl(self.node_dir(node), *args)

    # ---- life cycle ------------------------------------------------------------------

    def up(self, timeout: float = 30.0, expect_expressroute: bool = True) -> None:
        """Build the lab and wait until both paths' BGP, the SA and traffic are up (idempotent).

        `expect_expressroute=False` for topologies built misconfigured on purpose.
        """
        preflight()
        if self.is_up():
            with contextlib.suppress(LabError):
                self.wait_healthy(timeout=5.0, expect_expressroute=expect_expressroute)
                return
        self.down()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        try:
            self._build()
            self._start_daemons()
            self.wait_healthy(timeout=timeout, expect_expressroute=expect_expressroute)
        except BaseException:
            self._write_state(up=False)
            raise
        self._write_state(up=True)

    def down(self) -> None:
        """Remove every process and namespace of this lab; works after a crash (best effort)."""
        errors: list[str] = []
        for ns in self.existing_namespaces():
            for pid in _pids_in(ns):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 1.0
        for ns in self.existing_namespaces():
            while _pids_in(ns) and time.monotonic() < deadline:
                time.sleep(0.02)
            for pid in _pids_in(ns):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        for ns in self.existing_namespaces():
            try:
                netns.remove(ns)
            except OSError as exc:
                errors.append(f"{ns}: {exc}")
        if self.run_dir.exists():
            for sock in self.run_dir.glob("*/*.ctl"):
                sock.unlink(missing_ok=True)
            self._write_state(up=False)
        if errors:
            raise LabError("lab down left namespaces behind: " + "; ".join(errors))

    def is_up(self) -> bool:
        return len(self.existing_namespaces()) == len(self.topology.namespaces)

    def _write_state(self, up: bool) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "topology.json").write_text(
            self.topology.model_dump_json(indent=2) if up else self.topology.model_dump_json()
        )
        state = self.state()
        state["up"] = up
        if not up:
            state["faults"] = []
        _write_json(self.run_dir / "state.json", state)

    def state(self) -> dict[str, Any]:
        p = self.run_dir / "state.json"
        if p.exists():
            with contextlib.suppress(json.JSONDecodeError):
                return dict(json.loads(p.read_text()))
        return {"up": False, "faults": []}

    def _build(self) -> None:
        t = self.topology
        if self.events_path.exists():
            self.events_path.rename(self.run_dir / "events.previous.jsonl")
        for node in NODES:
            netns.create(self.namespace(node))
            d = self.node_dir(node)
            if d.exists():
                shutil.rmtree(d)
            d.mkdir(parents=True)
        for a, ia, b, ib in LINKS:
            with self.ipr(a) as ipr:
                ipr.link(
                    "add",
                    ifname=ia,
                    kind="veth",
                    peer={"ifname": ib, "net_ns_fd": self.namespace(b)},
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
            _sysctls(self.namespace(node), router=node in ROUTERS)
            with self.ipr(node) as ipr:
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
        self, node: str, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> int:
        d = self.node_dir(node)
        with (d / f"{name}.out").open("ab") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace(node), *argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        return proc.pid

    def _start_daemons(self) -> None:
        t = self.topology
        psk = os.environ.get("ERDRILL_LAB_PSK") or secrets.token_urlsafe(24)
        for node in ("onprem-edge", "vpn-gateway"):
            d = self.node_dir(node)
            (d / "strongswan.conf").write_text(swan.strongswan_conf(d))
            conf = d / "swanctl.conf"
            conf.touch(mode=0o600)
            conf.write_text(swan.swanctl_conf(node, t, psk))
            self._spawn(
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
            d = self.node_dir(node)
            (d / "bird.conf").write_text(bird.render(node, t, d))
            self._spawn(
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
        self._spawn(
            "workload",
            "service",
            [sys.executable, "-m", "lab.service", str(t.azure.workload_tcp_port)],
        )
        a = t.azure
        self._spawn(
            "onprem-edge",
            "watch",
            [
                sys.executable,
                "-m",
                "lab.watch",
                "onprem-edge",
                str(self.events_path),
                "--oif",
                "er0=expressroute",
                "--oif",
                f"{swan.TUN_DEVICE}=vpn",
            ],
        )
        self._spawn(
            "vnet",
            "watch",
            [
                sys.executable,
                "-m",
                "lab.watch",
                "vnet",
                str(self.events_path),
                "--gw",
                f"{a.er_gateway}=expressroute",
                "--gw",
                f"{a.vpn_gateway}=vpn",
            ],
        )
        for node, local, peer in (
            ("onprem-edge", t.onprem.vpn_bgp, a.vpn_bgp),
            ("vpn-gateway", a.vpn_bgp, t.onprem.vpn_bgp),
        ):
            self._setup_tunnel(node, local, peer)
        for node in ("vpn-gateway", "onprem-edge"):
            out = self.swanctl(
                node, "--load-all", "--file", str(self.node_dir(node) / "swanctl.conf")
            )
            if out.returncode != 0:
                raise LabError(
                    f"swanctl --load-all failed in {node}: {out.stderr.strip() or out.stdout.strip()}"
                )

    def _setup_tunnel(self, node: str, local: str, peer: str) -> None:
        """Address the libipsec TUN device and drop the catch-all rule charon adds."""
        d = self.node_dir(node)
        _wait(lambda: (d / "charon.vici").exists(), 10, f"charon's control socket in {node}", 0.02)
        with self.ipr(node) as ipr:

            def tun() -> bool:
                return bool(ipr.link_lookup(ifname=swan.TUN_DEVICE))

            _wait(tun, 10, f"the {swan.TUN_DEVICE} device in {node}", 0.02)
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

    # ---- health ----------------------------------------------------------------------

    def bgp_sessions(self) -> dict[str, str]:
        """Every BGP session of the lab, `node/protocol` -> state."""
        states: dict[str, str] = {}
        for node in ROUTERS:
            sock = self.node_dir(node) / "bird.ctl"
            parsed = (
                bird.parse_protocols(bird.birdc(sock, "show protocols")) if sock.exists() else {}
            )
            for proto in bird.SESSIONS[node]:
                states[f"{node}/{proto}"] = parsed.get(proto, "down")
        return states

    def ipsec_state(self) -> str:
        ok = all(swan.sa_established(self.node_dir(n)) for n in ("onprem-edge", "vpn-gateway"))
        return "up" if ok else "down"

    def paths(self) -> PathPair:
        """Path in use each way, from the kernel FIBs of the on-prem edge and the VNet router."""
        t = self.topology
        with self.ipr("onprem-edge") as ipr:
            fwd = _route_path(
                ipr,
                t.workload_address,
                oif={"er0": PathKind.EXPRESSROUTE, swan.TUN_DEVICE: PathKind.VPN},
            )
        with self.ipr("vnet") as ipr:
            ret = _route_path(
                ipr,
                t.host_address,
                gw={t.azure.er_gateway: PathKind.EXPRESSROUTE, t.azure.vpn_gateway: PathKind.VPN},
            )
        return PathPair(fwd, ret)

    def reachable(self) -> bool:
        out = self.exec(
            "onprem-host",
            "ping",
            "-c",
            "1",
            "-W",
            "1",
            "-q",
            self.topology.workload_address,
            timeout=3,
        )
        return out.returncode == 0

    def healthy_problems(self, expect_expressroute: bool = True) -> list[str]:
        """What keeps the lab from its steady state (empty when healthy)."""
        problems = [f"BGP {k} is {v}" for k, v in self.bgp_sessions().items() if v != "established"]
        if self.ipsec_state() != "up":
            problems.append("the IPsec SA is not established")
        if expect_expressroute:
            p = self.paths()
            if p.forward is not PathKind.EXPRESSROUTE or p.return_ is not PathKind.EXPRESSROUTE:
                problems.append(f"traffic is not on ExpressRoute both ways ({p})")
        return problems

    def wait_healthy(self, timeout: float = 30.0, expect_expressroute: bool = True) -> None:
        last: list[str] = []

        def ok() -> bool:
            nonlocal last
            last = self.healthy_problems(expect_expressroute)
            return not last and self.reachable()

        try:
            _wait(ok, timeout, "the lab's steady state", 0.1)
        except LabError:
            raise LabError(
                f"lab not healthy after {timeout:.0f} s: {'; '.join(last) or 'no traffic flows'}"
            ) from None

    def wait_paths(self, expected: PathPair, timeout: float) -> PathPair:
        """Wait until both directions use the expected paths; return the paths seen."""
        seen = self.paths()

        def ok() -> bool:
            nonlocal seen
            seen = self.paths()
            return seen == expected

        try:
            _wait(ok, timeout, f"paths {expected}", 0.02)
        except LabError:
            raise LabError(
                f"paths still {seen} after {timeout:.0f} s, expected {expected}"
            ) from None
        return seen

    def status(self) -> dict[str, Any]:
        """Machine-readable status: up, BGP sessions, the SA and the path each way."""
        if not self.is_up():
            return {
                "up": False,
                "name": self.topology.name,
                "prefix": self.topology.prefix,
                "bgp": {},
                "ipsec": "down",
                "paths": None,
                "faults": [],
            }
        return {
            "up": True,
            "name": self.topology.name,
            "prefix": self.topology.prefix,
            "run_dir": str(self.run_dir),
            "bgp": self.bgp_sessions(),
            "ipsec": self.ipsec_state(),
            "paths": self.paths().to_dict(),
            "faults": self.state().get("faults", []),
        }

    # ---- faults ----------------------------------------------------------------------

    def inject(self, kind: str) -> None:
        """Cause a fault and log it; it stays until `undo` (recorded in the run folder)."""
        fault = fault_kind(kind)
        if not self.is_up():
            raise LabError("the lab is not up: run `erdrill lab up` first")
        state = self.state()
        faults = [f for f in state.get("faults", []) if f != kind]
        state["faults"] = [*faults, kind]
        _write_json(self.run_dir / "state.json", state)  # durable before the network changes
        self._timed(kind, "fault", fault.description, lambda: fault.inject(self))

    def undo(self, kind: str) -> None:
        """Undo a fault and log the restore."""
        fault = fault_kind(kind)
        self._timed(kind, "restore", f"undo {kind}", lambda: fault.undo(self))
        state = self.state()
        state["faults"] = [f for f in state.get("faults", []) if f != kind]
        _write_json(self.run_dir / "state.json", state)

    def _timed(self, kind: str, event: str, detail: str, action: Callable[[], None]) -> None:
        """Run a fault action and log it with when it began (`wall`) and returned (`done_wall`):
        the network changed somewhere in between, which bounds what the log can claim."""
        _, started = events.now()
        action()
        events.append(
            self.events_path,
            event,
            fault=kind,
            detail=detail,
            done_wall=time.time(),
            start_wall=started,
        )

    def active_faults(self) -> list[str]:
        return [str(f) for f in self.state().get("faults", []) if f in FAULTS]

    def restore(self, kind: str | None = None, wait: float = 30.0) -> list[str]:
        """Undo one fault (or every active one) and wait for the steady state."""
        kinds = [kind] if kind else self.active_faults()
        if kind:
            fault_kind(kind)
        errors = []
        for k in kinds:
            try:
                self.undo(k)
            except Exception as exc:  # every undo runs, failures are reported together
                errors.append(f"{k}: {exc}")
        if errors:
            raise LabError("restore failed: " + "; ".join(errors))
        if wait:
            self.wait_healthy(timeout=wait)
        return kinds

    # ---- evidence --------------------------------------------------------------------

    def route_tables(self) -> list[RouteTable]:
        """The kernel FIBs of the on-prem edge and the VNet router, each entry classified."""
        t = self.topology
        tables = []
        for node, side, oif, gw in (
            (
                "onprem-edge",
                "onprem",
                {"er0": PathKind.EXPRESSROUTE, swan.TUN_DEVICE: PathKind.VPN},
                {},
            ),
            (
                "vnet",
                "azure",
                {},
                {t.azure.er_gateway: PathKind.EXPRESSROUTE, t.azure.vpn_gateway: PathKind.VPN},
            ),
        ):
            with self.ipr(node) as ipr:
                names = {link["index"]: link.get("IFLA_IFNAME") for link in ipr.get_links()}
                entries = []
                for r in ipr.get_routes(family=2, table=254):
                    if r.get("proto") != 12:  # only what BGP installed
                        continue
                    nh = r.get("RTA_GATEWAY") or ""
                    dev = names.get(r.get("RTA_OIF") or -1, "")
                    path = gw.get(nh) or oif.get(dev) or PathKind.UNKNOWN
                    entries.append(
                        RouteEntry(
                            prefix=f"{r.get('RTA_DST')}/{r['dst_len']}",
                            next_hop=nh or dev,
                            path=path,
                            source="bgp",
                        )
                    )
            tables.append(
                RouteTable(node, side, time.time(), sorted(entries, key=lambda e: e.prefix))
            )
        return tables

    def learned_prefixes(self) -> dict[str, dict[str, list[str]]]:
        """Prefixes each side learns over each path, from the BGP daemons' tables."""
        sources = {
            "onprem": ("onprem-edge", {"expressroute": "er", "vpn": "s2s"}),
            "azure": ("vnet", {"expressroute": "ergw", "vpn": "vpngw"}),
        }
        return {
            side: {
                path: _bird_prefixes(self.birdc(node, f"show route protocol {proto}"))
                for path, proto in protos.items()
            }
            for side, (node, protos) in sources.items()
        }

    def ground_truth(self, since: float = 0.0) -> list[dict[str, Any]]:
        return events.read(self.events_path, since)


def _route_path(
    ipr: IPRoute,
    dst: str,
    oif: dict[str, PathKind] | None = None,
    gw: dict[str, PathKind] | None = None,
) -> PathKind:
    try:
        route = ipr.route("get", dst=dst)[0]
    except Exception:
        return PathKind.NONE
    nh = route.get("RTA_GATEWAY")
    if gw and nh in gw:
        return gw[nh]
    if oif:
        link = ipr.get_links(route.get("RTA_OIF"))[0]
        return oif.get(link.get("IFLA_IFNAME"), PathKind.UNKNOWN)
    return PathKind.UNKNOWN


def _pids_in(ns: str) -> list[int]:
    """Processes whose network namespace is `ns` (what `ip netns pids` does)."""
    try:
        target = os.stat(f"/run/netns/{ns}").st_ino
    except FileNotFoundError:
        return []
    pids = []
    me = os.getpid()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        with contextlib.suppress(OSError):
            if os.stat(f"/proc/{entry.name}/ns/net").st_ino == target:
                pids.append(int(entry.name))
    return pids


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


def _write_json(path: Path, data: dict[str, Any]) -> None:
    from core.record import write_atomic

    write_atomic(path, json.dumps(data, indent=2) + "\n")


def _bird_prefixes(output: str) -> list[str]:
    """Prefixes listed by `show route protocol X` (one per route block)."""
    found = []
    for line in output.splitlines():
        first = line.split(maxsplit=1)[0] if line.strip() else ""
        if first[:1].isdigit() and "/" in first:
            found.append(first)
    return sorted(set(found))
