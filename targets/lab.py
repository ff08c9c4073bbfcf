"""The lab as a drill target."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.faults import Fault
from core.paths import PathPair
from core.routes import RouteTable
from lab.faults import FaultKind, fault_kind, fault_kinds
from lab.lab import Lab
from lab.plan import plan
from lab.signatures import REPLY_TTLS
from lab.topology import DEFAULT_TOPOLOGY, load_topology
from probes.target import ProbeTarget
from targets.target import Health

__all__ = ["LabFault", "LabTarget"]


@dataclass(frozen=True)
class LabFault:
    """A lab fault kind bound to one lab: inject, undo, and how to undo it from elsewhere."""

    kind: FaultKind
    lab: Lab

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def moves_to_vpn(self) -> bool:
        return self.kind.leaves_expressroute(self.lab.topology)

    def inject(self) -> None:
        self.lab.inject(self.kind.name)

    def undo(self) -> None:
        self.lab.undo(self.kind.name)

    def journal_entry(self) -> dict[str, str]:
        return {
            "target": "lab",
            "prefix": self.lab.topology.prefix,
            "run_root": str(self.lab.run_dir.parent),
            "fault": self.kind.name,
        }


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
        """A lab built from one of the shipped topologies (lab/topologies/<name>.yaml)."""
        topology = load_topology(DEFAULT_TOPOLOGY.parent / f"{name}.yaml")
        return cls(Lab(topology.model_copy(update={"prefix": prefix})), expect_expressroute)

    def describe(self) -> dict[str, str]:
        return {
            "topology": self.lab.topology.name,
            "lab prefix": self.lab.topology.prefix,
            "timer profile": self.lab.topology.profile,
        }

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

    def probe_namespace(self) -> str | None:
        return self.lab.namespace("onprem-host")

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
