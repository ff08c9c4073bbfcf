"""The Azure fault methods, one class each, as `core.faults.Fault`s.

- operator: ask the provider to stop ExpressRoute; wait (bounded) for the ER gateway's
  BGP peers to go down, and up again on undo. Nothing is written.
- disable-peering: PUT the circuit's peering with state Disabled, then Enabled.
- site-failover-simulation: start, then stop, the ER gateway's site failover test
  (ExpressRoute to ExpressRoute between two peering locations; test details read around it).
- command: run the operator's own inject and undo commands.

What each method needs, whether traffic leaves ExpressRoute, whether it is disruptive
(the target refuses those without allow_disruption) and its ARM actions are in the one
registry, core.fault_methods. A fault undoes only what its own inject began; journal repair, which
never injected, undoes with `restore`.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from erdrill.core.errors import TargetError
from erdrill.core.fault_methods import METHODS
from erdrill.core.paths import PathKind
from erdrill.targets.azure.arm import Arm, raw_json
from erdrill.targets.azure.errors import PreconditionFailed, first_line
from erdrill.targets.azure.peering import (
    differences,
    journaled_body,
    restored_body,
    scrubbed,
    writable,
)
from erdrill.targets.azure.reads import ControlPlane, dig_str

__all__ = [
    "FAULTS",
    "AzureFault",
    "Command",
    "DisablePeering",
    "Operator",
    "SiteFailoverSimulation",
]


@dataclass
class AzureFault:
    """One fault method bound to a circuit: `reads` and `arm` of its config, `where` to journal."""

    name: ClassVar[str]  # a name of core.fault_methods.METHODS

    @property
    def moves_to_vpn(self) -> bool:
        """Whether traffic is expected on the VPN during the fault (the registry says)."""
        return METHODS[self.name].leaves_expressroute

    reads: ControlPlane
    where: Mapping[str, str] = field(default_factory=dict)
    begun: bool = False

    @property
    def arm(self) -> Arm:
        return self.reads.arm

    def inject(self) -> None:
        self.begun = True
        self._inject()
        self.arm.event(self.name, "fault")

    def undo(self) -> None:
        """Undo a fault whose injection was at least begun here; one never touched needs nothing."""
        if not self.begun:
            return
        self.restore()
        self.begun = False

    def restore(self) -> None:
        """Undo, whoever injected (journal repair)."""
        self._undo()
        self.arm.event(self.name, "restore")

    def journal_entry(self) -> dict[str, str]:
        return {"target": "azure", "fault": self.name, **self.where}

    def adopt(self, undo: Mapping[str, Any]) -> None:
        """Journal repair: take what the dead drill journaled beyond the resource names."""

    def vary(self, variant: str) -> None:
        """A scenario's variant of the method (only the circuit link failover has one)."""
        raise TargetError(f"azure: fault {self.name} has no variant {variant!r}")

    def _inject(self) -> None:
        raise NotImplementedError

    def _undo(self) -> None:
        raise NotImplementedError


@dataclass
class DisablePeering(AzureFault):
    """Disable the circuit's peering (a PUT with state Disabled); restore the pre-fault body.

    The journal entry, written before the inject, keeps the peering's full resource ID and
    its body as read then (writable fields, scrubbed of sharedKey). Every PUT sends
    If-Match with the etag just read (a 412 means it changed meanwhile: read again, at most
    three times). The restore writes the pre-fault writable fields back, then reads the
    peering again: any field that differs from the pre-fault body fails the undo.
    """

    name: ClassVar[str] = "disable-peering"
    before: dict[str, Any] | None = None  # the pre-fault body, scrubbed

    def journal_entry(self) -> dict[str, str]:
        entry = super().journal_entry()
        body = self.reads.peering_body()
        self.before = scrubbed(body)
        entry.update(peering_id=str(body.get("id", "")), pre_fault=journaled_body(body))
        return entry

    def adopt(self, undo: Mapping[str, Any]) -> None:
        """Journal repair: undo to the pre-fault body the dead drill journaled."""
        if undo.get("pre_fault"):
            self.before = json.loads(str(undo["pre_fault"]))

    def _inject(self) -> None:
        self._put("Disabled")

    def _undo(self) -> None:
        self._put(None)
        if not self.arm.plan:
            self._verify()

    def _put(self, state: str | None) -> None:
        """PUT `state` (None: the pre-fault body) with If-Match; re-read after a 412."""
        for attempt in range(3):
            try:
                self._put_once(state)
                return
            except PreconditionFailed:
                if attempt == 2:
                    raise

    def _put_once(self, state: str | None) -> None:
        arm, cfg = self.arm, self.reads.cfg
        body = self.reads.peering_body()
        current = dig_str(body, "properties", "state")
        if state is None and self.before is not None:
            new = restored_body(body, self.before)
        else:
            new = {"properties": {**writable(body)["properties"], "state": state or "Enabled"}}
        want = str(new["properties"].get("state"))
        etag = str(body.get("etag", "*"))
        settled = body["properties"].get("provisioningState", "Succeeded") == "Succeeded"
        detail = (
            f"PUT circuit {cfg.circuit} peering {cfg.peering} state {current} -> {want}, "
            f"If-Match {etag} (express_route_circuit_peerings.begin_create_or_update)"
        )
        unchanged = current == want and not differences(new, body)
        if unchanged and settled and not arm.plan:  # a write still running may change it
            arm.record("peering write", True, detail + ": already so, skipped", False)
            return
        c = arm.client
        result = arm.call(
            "peering write",
            detail,
            lambda: arm.lro(
                "peering write",
                c.express_route_circuit_peerings.begin_create_or_update(
                    cfg.resource_group,
                    cfg.circuit,
                    cfg.peering,
                    new,
                    headers={"If-Match": etag},
                    cls=raw_json,
                ),
            ),
            write=True,
        )
        if result is not None:
            seen = dig_str(result, "properties", "state")
            if seen != want:
                raise TargetError(f"azure: peering {cfg.peering} is {seen} after setting {want}")

    def _verify(self) -> None:
        """Read the peering again: every pre-fault writable field must be as it was."""
        cfg = self.reads.cfg
        body = self.reads.peering_body()
        before = self.before or {"properties": {"state": "Enabled"}}
        problems = differences(before, body)
        state = body["properties"].get("provisioningState", "Succeeded")
        if state != "Succeeded":
            problems.append(f"provisioningState {state}")
        self.arm.record(
            "peering read",
            False,
            f"verify circuit {cfg.circuit} peering {cfg.peering} against the pre-fault body: "
            + ("; ".join(problems) or "as before the fault"),
            True,
        )
        if problems:
            raise TargetError(
                f"azure: peering {cfg.peering} of circuit {cfg.circuit} differs after the "
                f"restore from before the fault: {'; '.join(problems)}; set it back by hand "
                "(the fault journal keeps the pre-fault body)"
            )


class SiteFailoverSimulation(AzureFault):
    """ExpressRoute resiliency validation: fail the circuits of one peering location over to
    another's (ExpressRoute to ExpressRoute, never to the VPN); stop it on undo.

    The config must name circuits in two peering locations (core.circuits). The gateway's
    test details are read before the start (a test already running there is refused) and
    after the stop (it must no longer run). The stop reports whether ExpressRoute still
    carried the return path when it was sent, and each connection of the test.
    """

    name = "site-failover-simulation"  # traffic stays on ExpressRoute, the other location

    def _test_at(self, location: str) -> dict[str, Any] | None:
        return next(
            (t for t in self.reads.failover_tests() if t.get("peeringLocation") == location),
            None,
        )

    def _inject(self) -> None:
        arm, cfg = self.arm, self.reads.cfg
        c, loc = arm.client, cfg.peering_location or ""
        before = self._test_at(loc)
        if before is not None and before.get("status") in ("Starting", "Running"):
            raise TargetError(
                f"azure: a site failover test already runs at {loc} on gateway "
                f"{cfg.er_gateway} (since {before.get('startTime') or '?'}); stop it first"
            )
        arm.call(
            "site failover start",
            f"POST {cfg.er_gateway}/startSiteFailoverTest peeringLocation={loc} "
            "(begin_start_express_route_site_failover_simulation)",
            lambda: arm.lro(
                "site failover start",
                c.virtual_network_gateways.begin_start_express_route_site_failover_simulation(
                    cfg.resource_group, cfg.er_gateway, peering_location=loc, cls=raw_json
                ),
            ),
            write=True,
        )

    def _undo(self) -> None:
        arm, cfg = self.arm, self.reads.cfg
        c, loc = arm.client, cfg.peering_location or ""
        test = self._test_at(loc) or {}
        held = self.reads.return_path() is PathKind.EXPRESSROUTE
        others = sorted({k.peering_location for k in cfg.circuits} - {loc})
        params: dict[str, Any] = {
            "peeringLocation": loc,
            "wasSimulationSuccessful": held,
            "details": [
                {
                    "failoverConnectionName": str(conn.get("name", "")),
                    "failoverLocation": ", ".join(others),
                    "isVerified": held,
                }
                for conn in test.get("connections") or []
                if isinstance(conn, dict)
            ],
        }
        arm.call(
            "site failover stop",
            f"POST {cfg.er_gateway}/stopSiteFailoverTest peeringLocation={loc} "
            f"wasSimulationSuccessful={held} (begin_stop_express_route_site_failover_simulation)",
            lambda: arm.lro(
                "site failover stop",
                c.virtual_network_gateways.begin_stop_express_route_site_failover_simulation(
                    cfg.resource_group, cfg.er_gateway, params, cls=raw_json
                ),
            ),
            write=True,
        )
        if arm.plan:
            return
        after = self._test_at(loc)
        if after is not None and after.get("status") in ("Starting", "Running", "StopFailed"):
            raise TargetError(
                f"azure: the site failover test at {loc} on gateway {cfg.er_gateway} is "
                f"{after.get('status')} after the stop; stop it by hand (it runs until stopped)"
            )


class Command(AzureFault):
    """Run the operator's `[azure.fault_commands]` inject command, and its undo command."""

    name = "command"

    def _inject(self) -> None:
        self._run("inject")

    def _undo(self) -> None:
        self._run("undo")

    def _run(self, which: str) -> None:
        arm, cmds = self.arm, self.reads.cfg.fault_commands
        assert cmds is not None  # the config guarantees it for method "command"
        command = cmds.inject if which == "inject" else cmds.undo
        if arm.plan:
            arm.record(f"command {which}", True, command, performed=False)
            return
        arm.record(f"command {which}", True, command, performed=True)
        try:
            done = subprocess.run(
                shlex.split(command),
                capture_output=True,
                text=True,
                timeout=cmds.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TargetError(f"azure: {which} command {command!r} failed: {exc}") from None
        if done.returncode != 0:
            tail = first_line(done.stderr or done.stdout)
            raise TargetError(
                f"azure: {which} command {command!r} exited {done.returncode}: {tail}"
            )


class Operator(AzureFault):
    """Ask the provider to stop (then restore) ExpressRoute; wait for the ER BGP peers."""

    name = "operator"

    def _inject(self) -> None:
        self._ask(
            "ask the provider to stop ExpressRoute connectivity on circuit "
            f"{self.reads.cfg.circuit} (private peering) for the test",
            want_down=True,
        )

    def _undo(self) -> None:
        self._ask(
            f"ask the provider to re-establish ExpressRoute connectivity on {self.reads.cfg.circuit}",
            want_down=False,
        )

    def _ask(self, request: str, *, want_down: bool) -> None:
        arm, limit = self.arm, self.reads.cfg.operator_wait_s
        arm.record("operator", False, request, performed=not arm.plan)
        if arm.plan:
            return
        arm.out(
            f"OPERATOR: {request}; waiting up to {limit:g} s for the ER gateway's BGP "
            f"peers to go {'down' if want_down else 'up'}"
        )
        deadline = time.monotonic() + limit
        while True:
            if self.reads.er_down() == want_down:
                return
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"azure: ExpressRoute still {'up' if want_down else 'down'} after "
                    f"{limit:g} s of operator_wait_s; check with the provider"
                )
            arm.sleep(min(10.0, max(0.0, deadline - time.monotonic())))


FAULTS: dict[str, type[AzureFault]] = {
    f.name: f for f in (Operator, DisablePeering, SiteFailoverSimulation, Command)
}
