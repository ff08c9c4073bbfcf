"""The lab as a drill target."""

from __future__ import annotations

import contextlib
from typing import Any

from erdrill.core.errors import LabError
from erdrill.core.faults import Fault
from erdrill.core.paths import PathPair
from erdrill.core.routes import RouteTable
from erdrill.lab.build import wait_until
from erdrill.lab.faults import fault_kind, fault_kinds
from erdrill.lab.lab import Lab
from erdrill.lab.lab_fault import LabFault
from erdrill.lab.plan import plan
from erdrill.lab.signatures import REPLY_TTLS
from erdrill.lab.topology import DEFAULT_TOPOLOGY, load_topology
from erdrill.probes.target import ProbeTarget
from erdrill.targets.target import Health

__all__ = ["LabTarget"]


def _on(detail: str, path: str) -> bool:
    return detail == path or detail.startswith(f"{path}/")


class LabTarget:
    """Runs the drill against the emulated network; faults are the lab's fault kinds."""

    name = "lab"
    default_fault = "provider-link-down"
    path_poll_interval_s = 0.02

    def __init__(self, lab: Lab, expect_expressroute: bool = True) -> None:
        self.lab = lab
        self.expect_expressroute = expect_expressroute

    @classmethod
    def shipped(cls, name: str, prefix: str, expect_expressroute: bool = True) -> LabTarget:
        """A lab built from one of the shipped topologies (erdrill/lab/topologies/<name>.yaml)."""
        topology = load_topology(DEFAULT_TOPOLOGY.parent / f"{name}.yaml")
        return cls(Lab(topology.model_copy(update={"prefix": prefix})), expect_expressroute)

    @property
    def identity(self) -> str:
        return self.lab.topology.prefix

    def describe(self) -> dict[str, str]:
        return {
            "topology": self.lab.topology.name,
            "lab prefix": self.lab.topology.prefix,
            "timer profile": self.lab.topology.profile,
        } | ({"demonstration": "yes"} if self.lab.topology.demonstration else {})

    def ensure_ready(self) -> None:
        self.lab.up(expect_expressroute=self.expect_expressroute)

    def health(self) -> Health:
        return Health(
            bgp=self.lab.bgp_sessions(), tunnel=self.lab.ipsec_state(), paths=self.lab.paths()
        )

    def paths(self) -> PathPair:
        return self.lab.paths()

    def route_tables(self) -> list[RouteTable]:
        return self.lab.route_tables()

    def learned_prefixes(self) -> dict[str, dict[str, list[str]]]:
        return self.lab.learned_prefixes()

    def other_prefixes(self) -> dict[str, dict[str, list[str]]]:
        return {}  # the lab carries only the drill's prefixes

    def teardown(self) -> None:
        self.lab.down()

    def fault_names(self) -> list[str]:
        return fault_kinds(self.lab.topology)

    def fault(self, name: str) -> Fault:
        """A fault kind (or `a+b`) bound to this lab; unknown or unfit: one line, nothing done."""
        return LabFault(fault_kind(name, self.lab.topology), self.lab)

    def probe_targets(self) -> list[ProbeTarget]:
        """Every workload of the hub and of each spoke, in the topology's order."""
        t = self.lab.topology
        return [
            ProbeTarget(address, t.azure.workload_tcp_port, node, dict(REPLY_TTLS))
            for node, address, _ in plan(t).workloads
        ]

    def redundancy_problems(self) -> list[str]:
        """What keeps two ExpressRoute links and two VPN tunnels from carrying BGP (empty: none)."""
        sessions, tunnels = self.lab.bgp_sessions(), self.lab.tunnels()
        problems = [f"BGP {k} is {v}" for k, v in sessions.items() if v != "established"]
        problems += [f"tunnel {k} is {v}" for k, v in tunnels.items() if v != "up"]
        links = len(plan(self.lab.topology).links)
        if links < 2 or len(tunnels) < 2:
            problems.append(f"the lab has {links} ExpressRoute links and {len(tunnels)} tunnels")
        return problems

    def flows(self) -> dict[str, dict[str, str]]:
        """Each workload's path both ways, with the link or VPN instance (`expressroute/primary`)."""
        return {node: p.details() for node, p in self.lab.workload_paths().items()}

    def wait_flows_on(self, path: str, within_s: float) -> dict[str, dict[str, str]]:
        """Wait until every workload's flows, both ways, are on `path` (`expressroute`,
        `expressroute/secondary`, `vpn/instance-2`, or a leading part of one)."""
        seen: dict[str, dict[str, str]] = {}

        def on_path() -> bool:
            nonlocal seen
            seen = self.flows()
            return all(_on(d, path) for flow in seen.values() for d in flow.values())

        with contextlib.suppress(LabError):
            wait_until(on_path, within_s, f"every flow on {path}", 0.05)
        off = {n: f for n, f in seen.items() if not all(_on(d, path) for d in f.values())}
        if off:
            raise AssertionError(f"after {within_s:g} s not every flow is on {path}: {off}")
        return seen

    def probe_namespace(self) -> str | None:
        return self.lab.namespace(self.lab.topology.probe_host)

    def allowed_networks(self) -> list[str]:
        return [str(n) for n in self.lab.topology.networks]

    def ground_truth(self, since: float) -> list[dict[str, Any]]:
        return self.lab.ground_truth(since)

    def api_calls(self) -> list[dict[str, Any]]:
        return []  # the lab is driven through its daemons, not an API

    def secrets(self) -> list[str]:
        """Secrets that must never reach a log or report (the lab's VPN pre-shared key)."""
        found = []
        for conf in self.lab.run_dir.glob("**/swanctl.conf"):
            for line in conf.read_text().splitlines():
                if line.strip().startswith("secret ="):
                    found.append(line.split("=", 1)[1].strip().strip('"'))
        return sorted(set(found))
