"""Build, check, break and tear down the lab: namespaces, links and real daemons."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute, netns

from erdrill.core import journal
from erdrill.core.errors import LabError
from erdrill.core.faults import FaultLedger, undo_every
from erdrill.core.paths import PathKind, PathPair
from erdrill.core.routes import RouteTable
from erdrill.lab import bird, events, observe, swan
from erdrill.lab.build import build, start_daemons, wait_until
from erdrill.lab.faults import FAULTS, FaultKind, fault_kind
from erdrill.lab.lab_fault import TARGET, LabFault, journal_key
from erdrill.lab.plan import plan
from erdrill.lab.preflight import preflight
from erdrill.lab.topology import Topology, load_topology, parse_topology

__all__ = ["RUN_ROOT", "Lab"]

RUN_ROOT = Path(os.environ.get("ERDRILL_LAB_ROOT", "/var/lib/erdrill/labs"))


class Lab:
    """One lab instance, named by its topology's prefix.

    Its active faults are the open entries of its fault journal (`journal_key`, in
    `state_dir`, default $ERDRILL_STATE_DIR): whoever injects journals first.
    """

    def __init__(
        self,
        topology: Topology | None = None,
        run_root: Path = RUN_ROOT,
        state_dir: Path | None = None,
    ) -> None:
        self.topology = topology or load_topology()
        self.run_dir = run_root / self.topology.prefix
        self.events_path = self.run_dir / "events.jsonl"
        self.state_dir = state_dir
        self._netlink = threading.RLock()

    # ---- discovery -------------------------------------------------------------------

    @classmethod
    def current(
        cls, prefix: str | None = None, run_root: Path = RUN_ROOT, state_dir: Path | None = None
    ) -> Lab:
        """The lab whose run folder holds a topology (the one `lab up` built), or the default
        topology under that prefix. The prefix defaults to $ERDRILL_LAB_PREFIX, else erd-lab.
        """
        prefix = prefix or os.environ.get("ERDRILL_LAB_PREFIX", "erd-lab")
        saved = run_root / prefix / "topology.json"
        if saved.exists():
            data = json.loads(saved.read_text())
            source = data.pop("source", str(saved)) or str(saved)
            return cls(parse_topology(data, source), run_root, state_dir)
        default = load_topology().model_copy(update={"prefix": prefix})
        return cls(default, run_root, state_dir)

    @classmethod
    def of_entry(cls, entry: dict[str, Any], state_dir: Path | None = None) -> Lab:
        """The lab a fault-journal entry names (`LabFault.journal_entry`)."""
        prefix, run_root = LabFault.lab_of(entry)
        return cls.current(prefix, run_root or RUN_ROOT, state_dir)

    @property
    def journal_key(self) -> str:
        """The key of this lab's fault journal and drill lock: `lab-<prefix>`."""
        return journal_key(self.topology.prefix)

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
        """swanctl against a node's first tunnel end."""
        return swan.swanctl(self.node_dir(node), *args)

    def swanctl_at(self, end_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """swanctl against the tunnel end whose charon lives in `end_dir`."""
        return swan.swanctl(end_dir, *args)

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
            build(self)
            start_daemons(self)
            self.wait_healthy(timeout=timeout, expect_expressroute=expect_expressroute)
        except BaseException:
            self._save_topology(up=False)
            raise
        self._save_topology(up=True)

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
            self._save_topology(up=False)
        for name in self.active_faults():  # its faults went with its namespaces
            journal.close_entry(self.journal_key, name, self.state_dir)
        if errors:
            raise LabError("lab down left namespaces behind: " + "; ".join(errors))

    def is_up(self) -> bool:
        return len(self.existing_namespaces()) == len(self.topology.namespaces)

    def _save_topology(self, up: bool) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        (self.run_dir / "topology.json").write_text(
            self.topology.model_dump_json(indent=2) if up else self.topology.model_dump_json()
        )

    # ---- health ----------------------------------------------------------------------

    def bgp_sessions(self) -> dict[str, str]:
        """Every BGP session of the lab, `node/protocol` -> state."""
        return observe.bgp_sessions(self)

    def tunnels(self) -> dict[str, str]:
        """Every IPsec tunnel (device -> VPN gateway instance) -> up/down."""
        return observe.tunnel_states(self)

    def ipsec_state(self) -> str:
        return "up" if set(self.tunnels().values()) == {"up"} else "down"

    def paths(self, to: str | None = None, full: bool = False) -> PathPair:
        """Path in use each way (to the first workload unless `to`), from the kernel FIBs;
        `full` follows the routers until each direction's link or VPN instance is known."""
        return observe.paths(self, to, full)

    def workload_paths(self) -> dict[str, PathPair]:
        """The paths to and from every workload and spoke host, with their details."""
        return {
            node: self.paths(addr, full=True) for node, addr, _ in plan(self.topology).workloads
        }

    def reachable(self, to: str | None = None) -> bool:
        """Whether the probe host gets an answer from a workload (the first by default)."""
        host = next(iter(self.topology.onprem.hosts))
        dst = to or self.topology.workload_address
        out = self.exec(host, "ping", "-c", "1", "-W", "1", "-q", dst, timeout=3)
        return out.returncode == 0

    def healthy_problems(self, expect_expressroute: bool = True) -> list[str]:
        """What keeps the lab from its steady state (empty when healthy)."""
        problems = [f"BGP {k} is {v}" for k, v in self.bgp_sessions().items() if v != "established"]
        if self.ipsec_state() != "up":
            problems.append("the IPsec SA is not established")
        if expect_expressroute:
            for node, addr, _ in plan(self.topology).workloads:
                p = self.paths(addr)
                if p.forward is not PathKind.EXPRESSROUTE or p.return_ is not PathKind.EXPRESSROUTE:
                    problems.append(f"traffic to {node} is not on ExpressRoute both ways ({p})")
        return problems

    def wait_healthy(self, timeout: float = 30.0, expect_expressroute: bool = True) -> None:
        last: list[str] = []

        def ok() -> bool:
            nonlocal last
            last = self.healthy_problems(expect_expressroute)
            return not last and all(self.reachable(a) for _, a, _ in plan(self.topology).workloads)

        try:
            wait_until(ok, timeout, "the lab's steady state", 0.1)
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
            wait_until(ok, timeout, f"paths {expected}", 0.02)
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
                "tunnels": {},
                "paths": None,
                "workloads": {},
                "faults": [],
            }
        return {
            "up": True,
            "name": self.topology.name,
            "prefix": self.topology.prefix,
            "run_dir": str(self.run_dir),
            "bgp": self.bgp_sessions(),
            "ipsec": self.ipsec_state(),
            "tunnels": self.tunnels(),
            "paths": self.paths().to_dict(),
            "workloads": {n: p.details() for n, p in self.workload_paths().items()},
            "faults": self.active_faults(),
        }

    # ---- faults ----------------------------------------------------------------------

    def apply(self, kind: FaultKind) -> None:
        """Cause a resolved fault and log it (the caller journals it first)."""
        if not self.is_up():
            raise LabError("the lab is not up: run `erdrill lab up` first")
        self._timed(kind.name, "fault", kind.description, lambda: kind.inject(self))

    def revert(self, kind: FaultKind) -> None:
        """Undo a resolved fault and log the restore (the caller clears its journal entry)."""
        self._timed(kind.name, "restore", f"undo {kind.name}", lambda: kind.undo(self))

    def inject(self, name: str, *, by: str = "hand") -> LabFault:
        """Cause a fault kind (or `a+b`) and keep it in place until `undo` or `restore`.

        It is journaled before the network changes, under this lab's drill lock (refused
        while a drill runs here), and marked kept once injected: a crash halfway leaves
        an entry the next erdrill command repairs. `by` says who keeps it.
        """
        fault = LabFault(fault_kind(name, self.topology), self)
        if not self.is_up():
            raise LabError("the lab is not up: run `erdrill lab up` first")
        ledger = FaultLedger(self.journal_key, by, self.state_dir)
        lock = journal.acquire(self.journal_key, by, self.state_dir)
        try:
            ledger.open(fault)
            try:
                fault.inject()
            except BaseException:
                undo_every([(fault.name, lambda: self._undo(fault))])
                raise
            journal.keep_entry(self.journal_key, fault.name, self.state_dir)
        finally:
            lock.release()
        return fault

    def undo(self, name: str) -> None:
        """Undo a fault kind by name (whoever injected it) and clear its journal entry."""
        self._undo(LabFault(fault_kind(name), self))

    def _undo(self, fault: LabFault) -> None:
        fault.undo()
        journal.close_entry(self.journal_key, fault.name, self.state_dir)

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
        """The lab faults its journal holds open, oldest first."""
        found = []
        for entry in journal.open_entries(self.journal_key, self.state_dir):
            name = str(entry.get(journal.FAULT))
            undo = entry.get(journal.UNDO)
            ours = isinstance(undo, dict) and undo.get(journal.TARGET) == TARGET
            if ours and all(part in FAULTS for part in name.split("+")):
                found.append(name)
        return found

    def restore(self, kind: str | None = None, wait: float = 30.0) -> list[str]:
        """Undo one fault (or every active one, newest first) and wait for the steady state.

        Every undo runs; the failures are raised together (`FaultsNotUndone`).
        """
        names = [kind] if kind else self.active_faults()[::-1]
        faults = [LabFault(fault_kind(n), self) for n in names]  # an unknown name: nothing undone
        undo_every((f.name, functools.partial(self._undo, f)) for f in faults)
        if wait:
            self.wait_healthy(timeout=wait)
        return names

    # ---- evidence --------------------------------------------------------------------

    def route_tables(self) -> list[RouteTable]:
        """The kernel FIBs of every router that picks a path, each entry classified."""
        return observe.route_tables(self)

    def learned_prefixes(self) -> dict[str, dict[str, list[str]]]:
        """Prefixes each side learns over each path, from the BGP daemons' tables."""
        return observe.learned_prefixes(self)

    def ground_truth(self, since: float = 0.0) -> list[dict[str, Any]]:
        return events.read(self.events_path, since)


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
