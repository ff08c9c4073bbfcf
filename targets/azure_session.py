"""The Azure target of a drill session: `AzureTarget` behind the drill's target protocol.

With `arm_endpoint = "lab"` the session builds the lab from --lab-topology, serves the
lab's Azure face in this process (127.0.0.1 only) and drives it through azure-mgmt-network
exactly as it would drive Azure; teardown stops the face and takes the lab down.

Paths, each direction from the only place that can see it:
- return (Azure -> on-premises): Azure's control plane. The NIC's effective routes to the
  configured onprem_prefixes, judged by the gateways' learned routes (targets.classify).
- forward (on-premises -> Azure): invisible to Azure. A traceroute from the probe host
  (scapy, TTL-limited ICMP echoes, in the probe namespace) to each probe target; its hop
  count, the smallest TTL that reaches the target, is matched against the target's
  `forward_hops` in the drill config (lab: expressroute 5, vpn 4). Routers that hide or
  rate-limit their time-exceeded replies do not change that count. Targets that disagree,
  or a count matching neither path, read as unknown. Without any `forward_hops` the drill
  refuses to start: it would otherwise report a path it cannot see.

Learned prefixes: only Azure's side (the gateways' learned routes, by AS path or next
hop); on-premises routing is not visible from Azure.

Journal repair (`undo_azure_entry`): a fault a dead drill left in place is undone through
the SDK with allow_disruption; without it an OpenFault names exactly what is left.
"""

from __future__ import annotations

import contextlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from armface.server import Server, serve
from erdrill.config import DrillConfig, load_drill_config
from erdrill.errors import TargetError
from erdrill.journal import OpenFault
from erdrill.paths import PathKind, PathPair
from erdrill.routes import RouteTable
from erdrill.settings import DrillOptions
from lab.lab import Lab
from lab.topology import load_topology
from probes.pathid import HopSignature, classify_forward_path, traceroute
from targets.azure import AzureTarget
from targets.base import Health, ProbeTarget
from targets.classify import classify_learned_route, nic_route_table, path_to_prefix
from targets.lab import LabTarget

__all__ = ["AzureDrillTarget", "make_azure_target", "undo_azure_entry"]

REQUEST_LOG = "requests.jsonl"  # the face's request log, written beside face.json on teardown


class AzureDrillTarget:
    """An AzureTarget (real circuit or the lab's face) as the drill's target."""

    name = "azure"
    path_poll_interval_s = 0.5

    def __init__(
        self,
        azure: AzureTarget,
        config: DrillConfig,
        *,
        config_path: Path | None = None,
        lab: Lab | None = None,
        face: Server | None = None,
    ) -> None:
        assert config.azure is not None
        self.azure = azure
        self.config = config
        self.config_path = config_path
        self.lab = lab
        self.face = face
        self.default_fault: str = config.azure.fault_method
        self._attempted: set[str] = set()  # faults whose injection was at least begun here
        self._hops = {
            t.address: {str(p): HopSignature(hops=n) for p, n in t.forward_hops.items()}
            for t in config.probe.targets
            if t.forward_hops
        }

    # --- description and readiness ----------------------------------------------------
    def describe(self) -> dict[str, str]:
        d = self.azure.describe()
        d["forward path"] = "traceroute hop count (drill config forward_hops)"
        if self.lab is not None:
            d["lab prefix"] = self.lab.topology.prefix
            d["topology"] = self.lab.topology.name
        return d

    def ensure_ready(self) -> None:
        """The forward signatures must exist; then Azure must be healthy (ER and VPN up)."""
        if not self._hops:
            raise TargetError(
                "azure target: the forward path (on-premises to Azure) is not visible from "
                "Azure; give [[probe.targets]] forward_hops = { expressroute = N, vpn = M } "
                "(traceroute hop counts from the probe host)"
            )
        if self.lab is not None:
            self.lab.up()
        self.azure.ensure_ready()

    # --- evidence -----------------------------------------------------------------------
    def forward_path(self) -> PathKind:
        """The forward path all probe targets with hop signatures agree on, else unknown."""
        kinds = set()
        for address, sigs in self._hops.items():
            limit = max(s.hops or 0 for s in sigs.values()) + 2
            hops = traceroute(address, self.probe_namespace(), max_hops=limit, timeout=1.0)
            kinds.add(classify_forward_path(hops, sigs))
        return kinds.pop() if len(kinds) == 1 else PathKind.UNKNOWN

    def return_path(self) -> PathKind:
        """The path Azure's NIC uses to every on-premises prefix (unknown if they differ)."""
        az = self.azure
        gws = (az.cfg.er_gateway, az.cfg.vpn_gateway)
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="azure-path") as pool:
            eff = pool.submit(az.effective_routes)
            learned = [pool.submit(az.learned_routes, g) for g in gws]
            routes = [r for f in learned for r in f.result()]
            table = nic_route_table(
                f"nic:{az.cfg.nic}", eff.result(), routes, az.cfg.classification, time.time()
            )
        kinds = {path_to_prefix(p, table) for p in az.cfg.onprem_prefixes}
        return kinds.pop() if len(kinds) == 1 else PathKind.UNKNOWN

    def paths(self) -> PathPair:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward-path") as pool:
            forward = pool.submit(self.forward_path)
            ret = self.return_path()
            return PathPair(forward.result(), ret)

    def health(self) -> Health:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="forward-path") as pool:
            forward = pool.submit(self.forward_path)
            h = self.azure.health()
            paths = PathPair(forward.result(), h.paths.return_)
        details = {**h.details, "forward": "traceroute hop count from the probe host"}
        return Health(bgp=h.bgp, tunnel=h.tunnel, paths=paths, details=details)

    def route_tables(self) -> list[RouteTable]:
        return self.azure.route_tables()

    def learned_prefixes(self) -> dict[str, dict[str, list[str]]]:
        """Azure's side only: prefixes the gateways learned over each path."""
        az = self.azure
        out: dict[str, set[str]] = {"expressroute": set(), "vpn": set()}
        for gw in (az.cfg.er_gateway, az.cfg.vpn_gateway):
            for r in az.learned_routes(gw):
                kind = classify_learned_route(r, az.cfg.classification)
                if kind.value in out:
                    out[kind.value].add(r.network)
        return {"azure": {k: sorted(v) for k, v in out.items()}}

    # --- faults -------------------------------------------------------------------------
    def moves_to_vpn(self, kind: str) -> bool:
        return True  # every Azure fault method stops ExpressRoute

    def inject(self, kind: str) -> None:
        """Refuse (nothing sent) without allow_disruption, else inject through the SDK."""
        self.azure._check(kind)
        self._attempted.add(kind)
        self.azure.inject(kind)

    def undo(self, kind: str) -> None:
        """Undo a fault this session began to inject; one it never touched needs nothing."""
        if kind not in self._attempted:
            return
        self.azure.undo(kind)
        self._attempted.discard(kind)

    def undo_description(self, kind: str) -> dict[str, str]:
        """What journal repair needs to undo the fault from another process."""
        c = self.azure.cfg
        d = {
            "target": "azure",
            "fault": kind,
            "config": str(self.config_path.resolve()) if self.config_path else "",
            "subscription_id": c.subscription_id,
            "resource_group": c.resource_group,
            "circuit": c.circuit,
            "peering": c.peering,
            "er_gateway": c.er_gateway,
            "arm_endpoint": c.arm_endpoint,
        }
        if self.lab is not None:
            d["prefix"] = self.lab.topology.prefix
            d["run_root"] = str(self.lab.run_dir.parent)
        return d

    # --- probes and truth ---------------------------------------------------------------
    def probe_targets(self) -> list[ProbeTarget]:
        return self.azure.probe_targets()

    def probe_namespace(self) -> str | None:
        """The lab's on-premises host for the lab face (whatever its prefix), else the config's."""
        if self.lab is not None:
            return self.lab.namespace("onprem-host")
        return self.config.probe.namespace

    def allowed_networks(self) -> list[str] | None:
        if self.lab is not None:
            return [str(n) for n in self.lab.topology.networks]
        return None

    def ground_truth(self, since: float) -> list[dict[str, Any]]:
        """The lab's event log behind the face; Azure keeps no such log (empty)."""
        return self.lab.ground_truth(since) if self.lab is not None else []

    def secrets(self) -> list[str]:
        found = [self.face.token] if self.face is not None else []
        if self.lab is not None:
            found += LabTarget(self.lab).secrets()
        return sorted(set(found))

    # --- session ------------------------------------------------------------------------
    def write_request_log(self) -> Path | None:
        """Keep the face's request log (method, path, operation, status) beside face.json."""
        if self.face is None or self.lab is None:
            return None
        path = self.lab.run_dir / "armface" / REQUEST_LOG
        lines = [
            json.dumps(
                {
                    "method": r.method,
                    "path": r.path,
                    "operation": r.operation,
                    "status": r.status,
                    "write": r.is_write,
                }
            )
            for r in self.face.requests
        ]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return path

    def teardown(self) -> None:
        """Stop the face (its request log is kept) and take the lab down."""
        if self.face is not None:
            with contextlib.suppress(OSError):
                self.write_request_log()
            self.face.close()
        if self.lab is not None:
            self.lab.down()


def _config(path: Path | None) -> DrillConfig:
    cfg = load_drill_config(path)
    if cfg.azure is None:
        raise TargetError(
            f"azure target: {path or 'the default config'} has no [azure] section "
            "(see examples/azure.toml or examples/lab-as-azure.toml)"
        )
    return cfg


def make_azure_target(
    options: DrillOptions, drill_config: Path | None, topology: Path | None
) -> AzureDrillTarget:
    """The Azure target for a session; for `arm_endpoint = "lab"`, the lab and its face too."""
    cfg = _config(drill_config)
    assert cfg.azure is not None
    if not cfg.azure.is_lab_face:
        azure = AzureTarget.from_config(cfg, allow_disruption=options.allow_disruption)
        return AzureDrillTarget(azure, cfg, config_path=drill_config)
    from armface.lab_backend import LabBackend

    lab = Lab(load_topology(topology))
    face: Server | None = None
    try:
        lab.up()
        face = serve(LabBackend(lab), lab.run_dir)
        azure = AzureTarget.from_config(
            cfg, lab_run_dir=lab.run_dir, allow_disruption=options.allow_disruption
        )
        return AzureDrillTarget(azure, cfg, config_path=drill_config, lab=lab, face=face)
    except BaseException:
        if face is not None:
            face.close()
        with contextlib.suppress(Exception):
            lab.down()
        raise


def _left_in_place(entry: dict[str, Any]) -> str:
    u = entry.get("undo", {})
    where = (
        f"peering {u.get('peering')} of circuit {u.get('circuit')} (resource group "
        f"{u.get('resource_group')}, subscription {u.get('subscription_id')}"
        + (f", lab {u.get('prefix')}" if u.get("prefix") else "")
        + ")"
    )
    what = {
        "disable-peering": f"{where} is still Disabled",
        "site-failover-simulation": (
            f"the site failover simulation on gateway {u.get('er_gateway')} still runs"
        ),
        "command": "the operator's fault command was not undone (run its undo command)",
        "operator": "the provider was asked to stop ExpressRoute and not to restore it",
    }.get(str(entry.get("fault")), f"fault {entry.get('fault')} on {where}")
    return f"{what} since drill {entry.get('run_id')}"


def undo_azure_entry(entry: dict[str, Any], allow_disruption: bool) -> None:
    """Undo an Azure fault a dead drill left in place, or raise OpenFault naming it."""
    u = entry.get("undo", {})
    fault = str(entry.get("fault"))
    lab: Lab | None = None
    if u.get("arm_endpoint") == "lab":
        prefix, run_root = str(u.get("prefix")), Path(str(u.get("run_root")))
        lab = Lab.current(prefix, run_root)
        if lab.topology.prefix != prefix:  # no saved topology: never fall back to another lab
            lab = Lab(lab.topology.model_copy(update={"prefix": prefix}), run_root)
        if not lab.is_up():
            return  # a lab that is down keeps no fault
    if not allow_disruption:
        raise OpenFault(
            f"{_left_in_place(entry)}; undo it with --allow-disruption (erdrill re-enables it "
            "through the SDK) or by hand"
        )
    config_path = Path(str(u.get("config"))) if u.get("config") else None
    cfg = _config(config_path)
    face: Server | None = None
    try:
        if lab is not None:
            from armface.lab_backend import LabBackend

            face = serve(LabBackend(lab), lab.run_dir)
        azure = AzureTarget.from_config(
            cfg, lab_run_dir=lab.run_dir if lab else None, allow_disruption=True
        )
        azure.undo(fault)
    except TargetError as exc:
        raise OpenFault(f"{_left_in_place(entry)}; undo failed: {exc}") from None
    finally:
        if face is not None:
            face.close()
