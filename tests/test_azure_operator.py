"""The `operator` fault method against the lab's Azure face, with a provider who takes 45 s.

The drill asks (the OPERATOR line), a test provider disables the circuit's peering through
the face's HTTP 45 s later and re-enables it 5 s after being asked to restore; the drill
waits for the MSEE peers, times both transitions from when they took effect and records
when each was requested. Takes a little over a minute and a lab.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from drillrun import session_prefix
from facekit import face_session, run_plan
from labkit import extended_topology, running_lab

from erdrill.armface import Server, serve
from erdrill.armface.lab_backend import LabBackend
from erdrill.core.config import parse_drill_config
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN
from erdrill.core.record import DrillRecord
from erdrill.core.settings import DrillSettings
from erdrill.drill.engine import Drill
from erdrill.lab.lab import Lab
from erdrill.targets.azure import AzureTarget, arm_connection

pytestmark = pytest.mark.slow

ROOT = Path(__file__).parents[1]
ACTS_AFTER_S = 45.0


class Provider:
    """The connectivity provider: reads the drill's OPERATOR lines, acts on the face later."""

    def __init__(self, face: Server, stop_after_s: float, restore_after_s: float) -> None:
        self.face = face
        self.delays = {"Disabled": stop_after_s, "Enabled": restore_after_s}
        self.asked: dict[str, float] = {}
        self.acted: dict[str, float] = {}
        self.timers: list[threading.Timer] = []

    def page(self, line: str) -> None:
        if not line.startswith("OPERATOR:"):
            return
        state = "Disabled" if "stop ExpressRoute" in line else "Enabled"
        self.asked[state] = time.time()
        timer = threading.Timer(self.delays[state], self.set_peering, (state,))
        timer.daemon = True
        self.timers.append(timer)
        timer.start()

    def set_peering(self, state: str) -> None:
        n = self.face.backend.names
        url = (f"{self.face.endpoint}/subscriptions/{n.subscription_id}/resourceGroups/"
               f"{n.resource_group}/providers/Microsoft.Network/expressRouteCircuits/"
               f"{n.circuit}/peerings/{n.peering}?api-version=2026-03-01")  # fmt: skip
        s = face_session(self.face)
        body = s.get(url, timeout=10).json()
        body["properties"]["state"] = state
        self.acted[state] = time.time()
        s.put(url, json=body, timeout=10).raise_for_status()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    folder = tmp_path_factory.mktemp("operator")
    with running_lab(extended_topology(folder, session_prefix("erd-op")), 60) as lab:
        yield lab


def fail_over_and_back(target: AzureTarget, fault: str, tmp_path: Path) -> DrillRecord:
    """The documented plan against the face with `fault`; the closed drill's record."""
    settings = DrillSettings(rate=50, sustain_s=1.0, abort_limit_s=240, undo_timeout_s=300)
    d = Drill(target, settings, drills_dir=tmp_path, state_dir=tmp_path)
    return run_plan(d, fault, during=ON_VPN)


def test_a_provider_who_acts_45_s_after_being_asked_is_timed_from_when_it_took_effect(
    lab: Lab, tmp_path: Path
) -> None:
    text = (ROOT / "examples" / "lab-as-azure.toml").read_text()
    text = text.replace('fault_method = "disable-peering"', 'fault_method = "operator"')
    cfg = parse_drill_config(text.replace("operation_timeout_s = 60", "operator_wait_s = 120"))
    assert cfg.azure is not None
    with serve(LabBackend(lab), lab.run_dir) as face:
        provider = Provider(face, ACTS_AFTER_S, 5.0)
        conn = arm_connection(cfg.azure, lab.run_dir)
        target = AzureTarget(cfg, conn, lab=lab, out=provider.page)
        rec = fail_over_and_back(target, "operator", tmp_path)
    assert rec.verdict == "passed", rec.message
    fault = next(e for e in rec.events if e["kind"] == "fault")
    assert provider.acted["Disabled"] - fault["wall"] >= ACTS_AFTER_S - 1.0
    assert abs(fault["effective"] - provider.acted["Disabled"]) < 2.0, (fault, provider.acted)
    assert fault["returned"] >= fault["effective"]  # the wait ended once the MSEE peers fell
    assert rec.transitions["failover"]["reached_s"] < 20.0, rec.transitions
    assert rec.failover is not None and rec.failover.outage_ms is not None
    assert rec.failover.outage_ms < 15_000, rec.failover
    restore = next(e for e in rec.events if e["kind"] == "restore")
    assert provider.acted["Enabled"] - restore["wall"] >= 4.5, (provider.acted, restore)
    assert restore["wall"] <= restore["effective"] <= restore["returned"], restore
    assert [s["action"] for s in rec.api_calls if s["action"] == "operator"] == ["operator"] * 2
    assert lab.paths() == ON_EXPRESSROUTE


def test_a_hitless_change_in_a_slow_write_is_dated_by_the_probes_not_the_route_read(
    lab: Lab, tmp_path: Path
) -> None:
    """A 20 s write that changes the network 14 s in, Retry-After 8 (issue 19 defect 8 at half
    its figures, to keep the test short): the fault takes effect when the lab shut BGP, dated
    by a probe (the first lost, or the first reply over the VPN), not by the next route read
    seconds later; the record says which."""
    text = (ROOT / "examples" / "lab-as-azure.toml").read_text()
    cfg = parse_drill_config(
        text + "\n[azure.face]\nwrite_s = 20\nchange_after_s = 14\nretry_after_s = 8\n"
    )
    assert cfg.azure is not None and cfg.azure.face is not None
    with serve(LabBackend(lab), lab.run_dir, profile=cfg.azure.face):
        conn = arm_connection(cfg.azure, lab.run_dir)
        target = AzureTarget(cfg, conn, lab=lab, allow_disruption=True)
        rec = fail_over_and_back(target, "disable-peering", tmp_path)
    assert rec.verdict == "passed", rec.message
    fault = next(e for e in rec.events if e["kind"] == "fault")
    assert fault["returned"] - fault["wall"] >= 20.0, fault  # the SDK waited the write out
    assert fault["effective_by"] in ("first-lost-probe", "first-probe-on-new-path"), fault
    assert rec.transitions["failover"]["effective_by"] == fault["effective_by"]
    assert rec.ground_truth is not None
    lag = fault["effective"] - rec.ground_truth["fault_at"]  # the lab's log: BGP shut
    assert -0.5 <= lag <= 1.5, (fault, rec.ground_truth["fault_at"])
    assert lab.paths() == ON_EXPRESSROUTE


TEMPLATE_NAMES = {  # examples/azure.toml's placeholders -> the lab face's names
    '"00000000-0000-0000-0000-000000000000"': '"00000000-0000-4000-8000-00000000e7d1"',
    '"rg-network"': '"erdrill-lab"',
    '"er-circuit-1"': '"er-circuit"',
    '"vgw-er"': '"er-gateway"',
    '"vgw-vpn"': '"vpn-gateway"',
    '"cn-onprem-s2s"': '"vpn-connection"',
    '"app-vm-nic"': '"workload-nic"',
    '["10.0.0.0/16"]': '["192.168.10.0/24"]\narm_endpoint = "lab"',
    '"10.20.1.4"': '"10.1.1.4"',
}


def _wait_for(target: AzureTarget, want: object, within_s: float = 30.0) -> None:
    deadline = time.monotonic() + within_s
    while target.paths() != want:
        assert time.monotonic() < deadline, f"paths are {target.paths()}, not {want}"
        time.sleep(1.0)


def test_the_shipped_template_runs_once_its_names_are_filled_in(lab: Lab) -> None:
    """No forward_hops: the ExpressRoute hop count is learned in the steady state."""
    text = (ROOT / "examples" / "azure.toml").read_text()
    for placeholder, name in TEMPLATE_NAMES.items():
        assert placeholder in text, placeholder
        text = text.replace(placeholder, name)
    cfg = parse_drill_config(text)
    assert cfg.azure is not None and not cfg.probe.targets[0].forward_hops
    with serve(LabBackend(lab), lab.run_dir) as face:
        target = AzureTarget(cfg, arm_connection(cfg.azure, lab.run_dir), lab=lab)
        target.ensure_ready()
        assert target.learned_hops == {"10.1.1.4": 5}, target.learned_hops
        assert target.paths() == ON_EXPRESSROUTE
        assert isinstance(face.backend, LabBackend)
        face.backend.set_peering_state("Disabled")
        try:
            _wait_for(target, ON_VPN)  # 4 hops: not the learned 5, so the VPN
        finally:
            face.backend.set_peering_state("Enabled")
        _wait_for(target, ON_EXPRESSROUTE, 60.0)
