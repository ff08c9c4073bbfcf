"""The lab as a drill target."""

from __future__ import annotations

from typing import Any

from erdrill.paths import PathPair
from erdrill.routes import RouteTable
from lab.faults import FAULTS
from lab.lab import Lab
from targets.base import Health, ProbeTarget

# Reply TTLs the on-prem host sees from the workload (64 at the workload): four routers
# back over ExpressRoute (vnet, er-gateway, msee, onprem-edge), three over the VPN.
TTL_SIGNATURES = {"expressroute": 60, "vpn": 61}


class LabTarget:
    """Runs the drill against the emulated network; faults are the lab's fault kinds."""

    name = "lab"
    default_fault = "provider-link-down"
    path_poll_interval_s = 0.02

    def __init__(self, lab: Lab, expect_expressroute: bool = True) -> None:
        self.lab = lab
        self.expect_expressroute = expect_expressroute

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

    def fault_kinds(self) -> list[str]:
        return list(FAULTS)

    def moves_to_vpn(self, kind: str) -> bool:
        return FAULTS[kind].moves_to_vpn

    def inject(self, kind: str) -> None:
        self.lab.inject(kind)

    def undo(self, kind: str) -> None:
        self.lab.undo(kind)

    def undo_description(self, kind: str) -> dict[str, str]:
        """What the fault journal needs to undo this fault from another process."""
        return {
            "target": "lab",
            "prefix": self.lab.topology.prefix,
            "run_root": str(self.lab.run_dir.parent),
            "fault": kind,
        }

    def probe_targets(self) -> list[ProbeTarget]:
        t = self.lab.topology
        return [
            ProbeTarget(
                t.workload_address, t.azure.workload_tcp_port, "workload", dict(TTL_SIGNATURES)
            )
        ]

    def probe_namespace(self) -> str | None:
        return self.lab.namespace("onprem-host")

    def allowed_networks(self) -> list[str]:
        return [str(n) for n in self.lab.topology.networks]

    def ground_truth(self, since: float) -> list[dict[str, Any]]:
        return self.lab.ground_truth(since)

    def secrets(self) -> list[str]:
        """Secrets that must never reach a log or report (the lab's VPN pre-shared key)."""
        found = []
        for node in ("onprem-edge", "vpn-gateway"):
            conf = self.lab.node_dir(node) / "swanctl.conf"
            if conf.exists():
                for line in conf.read_text().splitlines():
                    if line.strip().startswith("secret ="):
                        found.append(line.split("=", 1)[1].strip().strip('"'))
        return sorted(set(found))
