"""The Azure drill target: a real circuit, or the lab behind its Azure face, through the SDK.

Paths, each direction from the only place that can see it:
- return (Azure -> on-premises): Azure's control plane. The NIC's effective routes to the
  configured onprem_prefixes, judged by the gateways' learned routes (targets.classify).
- forward (on-premises -> Azure): invisible to Azure. A traceroute from the probe host
  (scapy, TTL-limited ICMP echoes, in the probe namespace) to each probe target; its hop
  count, the smallest TTL that reaches the target, is matched against the target's
  `forward_hops` in the drill config (lab: expressroute 5, vpn 4). A target without
  `forward_hops` has its ExpressRoute hop count learned in the steady state (when the
  drill target is ready: Azure healthy, before any fault); afterwards the same count
  reads as ExpressRoute and any other count that reaches the target as the VPN. Routers
  that hide or rate-limit their time-exceeded replies do not change that count. Targets
  that disagree, or a traceroute that does not reach the target, read as unknown.

Learned prefixes: only Azure's side (the gateways' learned routes, by AS path or next
hop); on-premises routing is not visible from Azure.

Safety: a disruptive fault is refused without allow_disruption when it is resolved, before
any call at all; in plan mode every step and API call is recorded (`steps`) and printed,
reads are made, and no write call is sent.

With the lab face (`arm_endpoint = "lab"`, see targets.azure.face) the target also holds
the lab, which it brings up and takes down, and the face, which it stops on teardown.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

from erdrill.core.config import DrillConfig
from erdrill.core.errors import TargetError
from erdrill.core.paths import PathKind, PathPair
from erdrill.core.routes import RouteTable
from erdrill.lab.lab import Lab
from erdrill.probes.pathid import HopSignature, classify_forward_path, traceroute
from erdrill.probes.target import ProbeTarget
from erdrill.targets.azure.architecture import Review, review
from erdrill.targets.azure.arm import ApiStep, Arm, Connection
from erdrill.targets.azure.errors import DisruptionRefused, PermissionsMissing
from erdrill.targets.azure.faults import AzureFault
from erdrill.targets.azure.fit import links_reason
from erdrill.targets.azure.link_failover import ALL_DISRUPTIVE as DISRUPTIVE
from erdrill.targets.azure.link_failover import ALL_FAULTS as FAULTS
from erdrill.targets.azure.link_failover import ALL_METHODS as FAULT_METHODS
from erdrill.targets.azure.link_failover import (
    CircuitLinkFailover,
    circuit_route_tables,
    link_of,
    peering_links,
    with_link_hops,
)
from erdrill.targets.azure.reads import ControlPlane
from erdrill.targets.azure.role import missing_actions
from erdrill.targets.lab import LabTarget
from erdrill.targets.target import Health

__all__ = ["AzureTarget", "Face"]

LEARN_MAX_HOPS = 30  # a traceroute that learns the steady state's hop count


class Face(Protocol):
    """The lab's Azure face as the target sees it: a token to redact, a server to stop."""

    @property
    def token(self) -> str: ...

    def stop(self) -> None:
        """Stop serving (keeping the request log)."""
        ...


class AzureTarget:
    """The Target protocol over ARM: a real circuit, or the lab's Azure face."""

    name = "azure"
    path_poll_interval_s = 0.5

    def __init__(
        self,
        config: DrillConfig,
        connection: Connection,
        *,
        config_path: Path | None = None,
        lab: Lab | None = None,
        face: Face | None = None,
        allow_disruption: bool = False,
        plan: bool = False,
        out: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if config.azure is None:
            raise TargetError("azure target: the drill config has no [azure] section")
        self.config = config
        self.cfg = config.azure
        self.config_path = config_path
        self.face = face
        self.lab = LabTarget(lab) if lab is not None else None  # the lab behind the face
        self.allow_disruption = allow_disruption
        self.arm = Arm(self.cfg, connection, plan=plan, out=out, sleep=sleep)
        self.reads = ControlPlane(self.arm)
        self.default_fault: str = self.cfg.fault_method
        self._hops = {
            t.address: {str(p): HopSignature(hops=n) for p, n in t.forward_hops.items()}
            for t in config.probe.targets
            if t.forward_hops
        }
        self._to_learn = [t.address for t in config.probe.targets if not t.forward_hops]
        self.learned_hops: dict[str, int] = {}  # address -> ExpressRoute hop count
        self.link_hops: dict[str, frozenset[str]] = {}  # circuit link -> its peering addresses

    def api_calls(self) -> list[dict[str, Any]]:
        return [s.to_dict() for s in self.arm.steps]

    @property
    def steps(self) -> list[ApiStep]:
        """Every API call and operator step so far (plan mode: what would be done)."""
        return self.arm.steps

    # --- description, readiness, teardown ---------------------------------------------
    @property
    def identity(self) -> str:
        return f"{self.cfg.circuit}/{self.cfg.peering}"

    def describe(self) -> dict[str, str]:
        c = self.cfg
        d = {
            "target": "azure" if not c.is_lab_face else "azure (lab face)",
            "arm_endpoint": self.arm.endpoint,
            "resource_group": c.resource_group,
            "circuit": f"{c.circuit}/{c.peering}",
            "er_gateway": c.er_gateway,
            "vpn_gateway": c.vpn_gateway,
            "vpn_connection": c.vpn_connection,
            "fault_method": c.fault_method,
            "classification": c.classification.rule,
            "sdk": "azure-mgmt-network 33.1.0",
            "forward path": "traceroute hop count (forward_hops, else learned in the steady "
            "state: a change from it reads as leaving ExpressRoute)",
        }
        if self.lab is not None:
            d["lab prefix"] = self.lab.lab.topology.prefix
            d["topology"] = self.lab.lab.topology.name
        return d

    def ensure_ready(self) -> None:
        """Azure must be healthy (ER and VPN up); then the forward signatures not given in
        the config are learned: the hop count now is ExpressRoute's."""
        if self.lab is not None:
            self.lab.ensure_ready()
        self.reads.check_ready()
        for address in self._to_learn:
            if address not in self.learned_hops:
                self._learn(address)
        if self.cfg.fault_method == CircuitLinkFailover.name and not self.link_hops:
            self.link_hops = peering_links(self.reads)  # either link's hop is ExpressRoute
            for sigs in self._hops.values():
                sigs["expressroute"] = with_link_hops(sigs.get("expressroute"), self.link_hops)

    def _learn(self, address: str) -> None:
        hops = traceroute(address, self.probe_namespace(), max_hops=LEARN_MAX_HOPS, timeout=1.0)
        if not hops or not hops[-1]:
            raise TargetError(
                f"azure target: a traceroute from the probe host to {address} did not reach it "
                f"within {LEARN_MAX_HOPS} hops, so the forward path cannot be learned; let ICMP "
                "echo through or give [[probe.targets]] forward_hops = { expressroute = N, vpn = M }"
            )
        self.learned_hops[address] = len(hops)
        self._hops[address] = {"expressroute": HopSignature(hops=len(hops))}

    def teardown(self) -> None:
        """Stop the face (its request log is kept) and take the lab down."""
        if self.face is not None:
            self.face.stop()
        if self.lab is not None:
            self.lab.teardown()

    # --- evidence ---------------------------------------------------------------------
    def forward_path(self) -> PathKind:
        """The forward path all probe targets with hop signatures agree on, else unknown."""
        return self._forward()[0]

    def _forward(self) -> tuple[PathKind, str]:
        """The forward path, and the circuit link when every target names the same one."""
        kinds, links = set(), set()
        for address, sigs in self._hops.items():
            limit = max(s.hops or 0 for s in sigs.values()) + 4
            hops = traceroute(address, self.probe_namespace(), max_hops=limit, timeout=1.0)
            kind = classify_forward_path(hops, sigs)
            if kind is PathKind.UNKNOWN and "vpn" not in sigs and hops and hops[-1]:
                kind = PathKind.VPN  # reached, but not as in the steady state: off ER
            kinds.add(kind)
            links.add(link_of(hops, self.link_hops) if kind is PathKind.EXPRESSROUTE else "")
        kind = kinds.pop() if len(kinds) == 1 else PathKind.UNKNOWN
        return kind, links.pop() if len(links) == 1 and kind is PathKind.EXPRESSROUTE else ""

    def paths(self) -> PathPair:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward-path") as pool:
            forward = pool.submit(self._forward)
            ret = self.reads.return_path()
            kind, link = forward.result()
            return PathPair(kind, ret, forward_detail=link)

    def health(self) -> Health:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward-path") as pool:
            forward = pool.submit(self.forward_path)
            h = self.reads.health()
            paths = PathPair(forward.result(), h.paths.return_)
        learned = ", ".join(f"{a} {n} hops" for a, n in sorted(self.learned_hops.items()))
        how = f"learned in the steady state: {learned} over expressroute" if learned else "config"
        details = {**h.details, "forward": f"traceroute hop count from the probe host ({how})"}
        return Health(bgp=h.bgp, tunnel=h.tunnel, paths=paths, details=details)

    def route_tables(self) -> list[RouteTable]:
        tables = self.reads.route_tables()
        if self.cfg.fault_method == CircuitLinkFailover.name:  # which link lost the routes
            tables += circuit_route_tables(self.reads, tables[0].taken_at)
        return tables

    def learned_prefixes(self) -> dict[str, dict[str, list[str]]]:
        return self.reads.learned_prefixes()

    def other_prefixes(self) -> dict[str, dict[str, list[str]]]:
        return self.reads.learned_prefixes(drill=False)

    def architecture(self) -> Review:
        """The architecture checks (targets.azure.architecture): findings and notes."""
        return review(self.reads)

    # --- faults -----------------------------------------------------------------------
    def fault_names(self) -> list[str]:
        return [self.cfg.fault_method]

    def fault(self, name: str) -> AzureFault:
        """The configured fault method; others, and disruption without consent, are refused.

        `name` may carry a variant after a colon: "circuit-link-failover:Secondary:ASPathPrepend"
        (link and category for this drill, instead of [azure.link_failover]'s). Refused here,
        when the drill resolves the fault, so nothing is journaled or sent.
        """
        base, _, variant = name.partition(":")
        if base not in FAULT_METHODS:
            raise TargetError(
                f"azure: unknown fault kind {base!r}; use one of {', '.join(FAULT_METHODS)}"
            )
        if base != self.cfg.fault_method:
            raise TargetError(
                f"azure: fault kind {base!r} is not the configured fault_method "
                f"{self.cfg.fault_method!r}; set [azure] fault_method"
            )
        if base in DISRUPTIVE and not self.allow_disruption and not self.arm.plan:
            raise DisruptionRefused(
                f"azure: fault {base!r} disrupts a live circuit; refused without "
                "allow_disruption (pass --allow-disruption, or --plan to only print the steps)"
            )
        self._preflight(base)
        fault = FAULTS[base](self.reads, self._journal_where())
        if variant:
            fault.vary(variant)
        return fault

    def links_problem(self) -> str | None:
        """Why the circuit lacks the links the configured method needs, else None."""
        return links_reason(self.reads, self.cfg.fault_method)

    def _preflight(self, name: str) -> None:
        """Refuse, before anything is journaled or written, when the identity lacks an
        action the method needs on the resource group (targets.azure.role)."""
        missing = missing_actions(self.arm, name, plan=self.arm.plan)
        if missing:
            how = "--plan " if self.arm.plan else ""
            raise PermissionsMissing(
                f"azure: refused before any write: the identity lacks {', '.join(missing)} on "
                f"resource group {self.cfg.resource_group}; assign the role `erdrill role "
                f"--fault-method {name} {how}` prints"
            )

    def _journal_where(self) -> dict[str, str]:
        c = self.cfg
        group = f"/subscriptions/{c.subscription_id}/resourceGroups/{c.resource_group}"
        network = f"{group}/providers/Microsoft.Network"
        d = {
            "config": str(self.config_path.resolve()) if self.config_path else "",
            "subscription_id": c.subscription_id,
            "resource_group": c.resource_group,
            "circuit": c.circuit,
            "peering": c.peering,
            "er_gateway": c.er_gateway,
            "arm_endpoint": c.arm_endpoint,
            "circuit_id": f"{network}/expressRouteCircuits/{c.circuit}",
            "er_gateway_id": f"{network}/virtualNetworkGateways/{c.er_gateway}",
        }
        if self.lab is not None:
            d["prefix"] = self.lab.lab.topology.prefix
            d["run_root"] = str(self.lab.lab.run_dir.parent)
        return d

    # --- probes and truth -------------------------------------------------------------
    def probe_targets(self) -> list[ProbeTarget]:
        return [
            ProbeTarget(
                t.address,
                t.tcp_port,
                t.name or t.address,
                {str(k): v for k, v in t.ttl_signatures.items()},
            )
            for t in self.config.probe.targets
        ]

    def probe_namespace(self) -> str | None:
        """The lab's on-premises host for the lab face (whatever its prefix), else the config's."""
        if self.lab is not None:
            return self.lab.probe_namespace()
        return self.config.probe.namespace

    def allowed_networks(self) -> list[str] | None:
        return self.lab.allowed_networks() if self.lab is not None else None

    def ground_truth(self, since: float) -> list[dict[str, Any]]:
        """The lab's event log behind the face; Azure keeps no such log (empty)."""
        return self.lab.ground_truth(since) if self.lab is not None else []

    def fault_events(self, since: float) -> list[dict[str, Any]]:
        """Faults injected and undone through this target since a wall time."""
        return [e for e in self.arm.events if e["at"] >= since]

    def secrets(self) -> list[str]:
        found = [self.face.token] if self.face is not None else []
        if self.lab is not None:
            found += self.lab.secrets()
        return sorted(set(found))
