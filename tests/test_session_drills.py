"""Long-lived sessions in real lab drills (real BIRD, strongSwan, nftables): on the reference
lab they survive a provider-link-down failover; behind the on-premises stateful firewall
(lab/firewall.py) they break, and the drill record says which and why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from drillrun import session_prefix

from erdrill.core.outcomes import Outcome, RestoreFailed, Verdict
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN
from erdrill.core.record import SessionEnd, load
from erdrill.core.settings import DrillSettings
from erdrill.drill.engine import Drill
from erdrill.lab import firewall
from erdrill.lab.lab import Lab
from erdrill.lab.topology import DEFAULT_TOPOLOGY, load_topology
from erdrill.reports.findings import derive
from erdrill.targets.lab import LabTarget


def settings(restore_timeout_s: float = 60.0) -> DrillSettings:
    """Sessions that give up after 2 s: less than the drill spends on the VPN."""
    return DrillSettings(
        rate=100, sustain_s=1.0, session_timeout_s=2.0, restore_timeout_s=restore_timeout_s
    )


def _lab(root: Path, topology: Path, base: str) -> Iterator[Lab]:
    t = load_topology(topology)
    lab = Lab(
        t.model_copy(update={"prefix": session_prefix(base)}),
        run_root=root / "labs",
        state_dir=root / "state",
    )
    lab.up(timeout=60, expect_expressroute=False)
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture
def firewalled_reference(tmp_path: Path) -> Iterator[Lab]:
    topology = tmp_path / "reference-firewall.yaml"
    topology.write_text("extends: default\nname: reference-firewall\nfirewall: {stateful: true}\n")
    yield from _lab(tmp_path, topology, "erd-fwr")


@pytest.fixture
def prefers_vpn_firewall(tmp_path: Path) -> Iterator[Lab]:
    topology = DEFAULT_TOPOLOGY.parent / "onprem-prefers-vpn-firewall.yaml"
    yield from _lab(tmp_path, topology, "erd-fwv")


def _failover_drill(lab: Lab, drills: Path) -> Drill:
    """provider-link-down to the VPN and back, as the documented plan runs it."""
    d = Drill(LabTarget(lab), settings(), drills_dir=drills, state_dir=lab.state_dir)
    d.begin()
    d.start_probes()
    d.inject("provider-link-down")
    d.await_paths(ON_VPN, 20.0, "failover")
    d.check_holds(ON_VPN, 3.0)  # longer than the sessions' timeout
    d.restore()
    d.await_paths(ON_EXPRESSROUTE, 30.0, "failback")
    d.finish_probes()
    return d


def test_sessions_survive_a_provider_link_down_failover(healthy_lab: Lab, tmp_path: Path) -> None:
    d = _failover_drill(healthy_lab, tmp_path)
    d.close(Outcome(Verdict.PASSED))
    rec = load(d.path)
    fo = rec.failover
    assert fo is not None and fo.outage_ms is not None
    assert [s.name for s in rec.sessions] == ["workload#1", "workload#2"]
    for s in rec.sessions:
        assert s.end is SessionEnd.SURVIVED and s.phase is None, s
        assert s.messages_echoed == s.messages_sent > 0
        assert s.stall_ms is not None and s.stall_ms + s.interval_ms >= fo.outage_ms, s
    assert not [f for f in derive(rec) if f.spec.id.startswith("ERD-SESSION")]
    # route-specific figures across the flows: one target, so each protocol's is its figure
    assert fo.route_specific["all"].flows == 2
    assert fo.route_specific["all"].loss_derived_max_ms == fo.loss_derived_ms
    assert fo.route_specific_max_ms == fo.loss_derived_ms
    for protocol in ("icmp", "tcp"):
        rs = fo.route_specific[protocol]
        flow = fo.per_target[f"{healthy_lab.topology.workload_address}/{protocol}"]
        assert rs.flows == 1 and rs.loss_derived_min_ms == rs.loss_derived_max_ms
        assert rs.loss_derived_max_ms == flow["loss_derived_ms"]


def test_a_firewall_pinning_state_to_the_path_breaks_sessions_in_the_failover(
    firewalled_reference: Lab, tmp_path: Path
) -> None:
    lab = firewalled_reference
    d = _failover_drill(lab, tmp_path)
    d.close(Outcome(Verdict.PASSED))
    rec = load(d.path)
    assert len(rec.sessions) == 2
    for s in rec.sessions:
        assert s.end is SessionEnd.TIMEOUT and s.phase == "failover", s
        assert "ETIMEDOUT" in s.reason and s.messages_echoed < s.messages_sent
    found = {f.spec.id: f for f in derive(rec)}
    assert len(found["ERD-SESSION-001"].details) == 2
    assert "timeout in the failover" in found["ERD-SESSION-001"].details[0]
    assert firewall.dropped(lab.namespace("onprem-edge"))["zone_change"] > 0
    assert lab.paths() == ON_EXPRESSROUTE  # the firewall kept the drill's own traffic


def test_onprem_preferring_the_vpn_behind_the_firewall_breaks_every_session(
    prefers_vpn_firewall: Lab, tmp_path: Path
) -> None:
    lab = prefers_vpn_firewall
    target = LabTarget(lab, expect_expressroute=False)
    d = Drill(target, settings(2.0), drills_dir=tmp_path, state_dir=lab.state_dir)
    d.begin()
    assert "asymmetric routing" in d.steady_state_violation()
    d.start_probes()
    d.inject("provider-link-down")
    d.await_paths(ON_VPN, 20.0, "failover")
    d.restore()
    with pytest.raises(RestoreFailed):  # on-premises still sends over the VPN: true
        d.close(Outcome(Verdict.PASSED))
    rec = load(d.path)
    assert len(rec.sessions) == 2
    for s in rec.sessions:
        assert s.end is SessionEnd.NOT_OPENED and s.phase == "steady-state", s
        assert s.opened_at is None and s.messages_sent == 0
    ids = [f.spec.id for f in derive(rec)]
    assert "ERD-SESSION-002" in ids and "ERD-ASYM-001" in ids
    assert firewall.dropped(lab.namespace("onprem-edge"))["zone_change"] > 0
