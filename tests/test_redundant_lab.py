"""The redundant lab (two links on two CE routers, active-active VPN, subnets, spokes):
its wiring comes from the topology, both links and both tunnels are up, and each fault kind
ends on the path it says, with the link or VPN instance named."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from labkit import TEST_PREFIX, back_to_steady_state, make_topology, running_lab

from erdrill.core.errors import ConfigError
from erdrill.core.outcomes import outcome_of
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN, PathKind, PathPair
from erdrill.core.settings import DrillSettings
from erdrill.drill.engine import Drill
from erdrill.lab.faults import FAULTS, fault_kind, fault_kinds
from erdrill.lab.lab import Lab
from erdrill.lab.plan import plan
from erdrill.lab.topology import DEFAULT_TOPOLOGY, load_topology, parse_topology
from erdrill.reports.describe import path_lines
from erdrill.targets.lab import LabTarget

REDUNDANT = DEFAULT_TOPOLOGY.parent / "redundant.yaml"
TWO_LOCATIONS = DEFAULT_TOPOLOGY.parent / "two-locations.yaml"
WORKLOADS = ["app1", "data1", "spoke1-app", "spoke2-app"]


def test_the_wiring_comes_from_the_topology() -> None:
    p = plan(load_topology(REDUNDANT))
    assert [(link.ce, link.msee, link.label) for link in p.links] == [
        ("ce1", "msee1", "primary"),
        ("ce2", "msee2", "secondary"),
    ]
    assert [(t.device, t.instance, t.label) for t in p.tunnels] == [
        ("vpn-edge", "vpn-gw-1", "instance-1"),
        ("vpn-edge", "vpn-gw-2", "instance-2"),
    ]
    assert [node for node, _, _ in p.workloads] == WORKLOADS
    for a, ia, b, ib in p.veths:
        assert a in p.nodes and b in p.nodes
        assert len(ia) <= 15 and len(ib) <= 15
    assert p.default_routes["spoke1-app"] == "10.2.1.1"


def test_the_shipped_default_keeps_its_wiring() -> None:
    p = plan(load_topology())
    assert p.routers == ["onprem-edge", "msee", "er-gateway", "vpn-gateway", "vnet"]
    assert ("onprem-edge", "er0", "provider", "ce0") in p.veths
    assert p.tunnels[0].device_bgp == "169.254.21.1" and p.tunnels[0].name == "s2s"


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("secondary-link-down", "no secondary link"),
        ("peering-location-down", "one circuit"),
        ("vpn-instance-down", "one instance"),
        ("circuit-down+msee-maintenance", "no secondary link"),
        ("circuit-down+nothing", "unknown fault kind 'nothing'"),
    ],
)
def test_a_fault_unfit_for_the_topology_is_one_line(kind: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        LabTarget(Lab(make_topology())).fault(kind)
    assert "\n" not in str(err.value) and words in str(err.value), err.value


def test_which_faults_leave_expressroute_depends_on_the_shape() -> None:
    one, two = load_topology(REDUNDANT), load_topology(TWO_LOCATIONS)
    assert FAULTS["circuit-down"].leaves_expressroute(one)
    assert not FAULTS["circuit-down"].leaves_expressroute(two)
    assert not fault_kind("primary-link-down", one).leaves_expressroute(one)
    assert fault_kind("circuit-down+vpn-instance-down", one).moves_to_vpn
    assert "peering-location-down" in fault_kinds(two)
    assert "peering-location-down" not in fault_kinds(one)


@pytest.fixture(scope="module")
def redundant() -> Iterator[Lab]:
    with running_lab(make_topology(REDUNDANT, prefix=f"{TEST_PREFIX[:12]}-r")) as lab:
        yield lab


@pytest.fixture
def healthy(redundant: Lab) -> Iterator[Lab]:
    yield redundant
    back_to_steady_state(redundant)


def _all(lab: Lab) -> dict[str, dict[str, str]]:
    return {node: p.details() for node, p in lab.workload_paths().items()}


def _everywhere(forward: str, back: str | None = None) -> dict[str, dict[str, str]]:
    return {w: {"forward": forward, "return": back or forward} for w in WORKLOADS}


def test_both_links_and_both_tunnels_are_up(redundant: Lab) -> None:
    sessions = redundant.bgp_sessions()
    assert set(sessions.values()) == {"established"}, sessions
    for name in ("ce1/er0", "ce2/er1", "vpn-edge/s2s0", "vpn-edge/s2s1", "vnet/vpngw1"):
        assert sessions[name] == "established"
    assert set(redundant.tunnels().values()) == {"up"} and len(redundant.tunnels()) == 2
    assert _all(redundant) == _everywhere("expressroute/primary")
    assert all(redundant.reachable(a) for _, a, _ in plan(redundant.topology).workloads)


def _wait(lab: Lab, expected: PathPair, detail: str) -> None:
    lab.wait_paths(expected, timeout=20)
    for _ in range(100):
        if _all(lab) == _everywhere(detail):
            return
    assert _all(lab) == _everywhere(detail)


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        ("primary-link-down", "expressroute/secondary"),
        ("primary-link-silent", "expressroute/secondary"),
        ("secondary-link-down", "expressroute/primary"),
        ("msee-maintenance", "expressroute/secondary"),
        ("secondary-msee-maintenance", "expressroute/primary"),
        ("vpn-instance-down", "expressroute/primary"),
        ("circuit-down", "vpn/instance-1"),
        ("circuit-down+vpn-instance-down", "vpn/instance-2"),
    ],
)
def test_each_fault_ends_on_its_path(healthy: Lab, kind: str, detail: str) -> None:
    expected = ON_VPN if detail.startswith("vpn") else ON_EXPRESSROUTE
    assert fault_kind(kind, healthy.topology).leaves_expressroute(healthy.topology) == (
        expected == ON_VPN
    )
    healthy.inject(kind)
    _wait(healthy, expected, detail)
    tables = {t.owner: t for t in healthy.route_tables()}
    assert tables["vnet"].path_to("192.168.10.0/24") is PathKind(detail.split("/")[0])
    healthy.restore(kind)
    assert _all(healthy) == _everywhere("expressroute/primary")


def test_the_drill_record_names_the_link_of_every_flow_in_each_phase(
    healthy: Lab, tmp_path: Path
) -> None:
    target = LabTarget(healthy)
    d = Drill(
        target,
        DrillSettings(rate=50, sustain_s=0.5),
        drills_dir=tmp_path,
        state_dir=healthy.state_dir,
    )
    d.begin()
    d.start_probes()
    d.inject("primary-link-down")
    target.wait_flows_on("expressroute/secondary", 20)
    d.restore()
    d.await_paths(ON_EXPRESSROUTE, 30.0, "failback")
    target.wait_flows_on("expressroute/primary", 30)
    d.finish_probes()
    d.close(outcome_of(None))
    flows = d.record.flow_paths
    assert flows["before"] == _everywhere("expressroute/primary"), flows
    assert flows["during"] == _everywhere("expressroute/secondary"), flows
    assert flows["after"] == _everywhere("expressroute/primary"), flows
    saved = json.loads((d.run_dir / "drill.json").read_text())
    assert saved["flow_paths"]["during"] == flows["during"]
    shown = path_lines(d.record)
    assert f"during, by flow: expressroute/secondary both ways: {', '.join(WORKLOADS)}" in shown


def test_every_workload_and_spoke_is_a_probe_target() -> None:
    target = LabTarget(Lab(load_topology(REDUNDANT)))
    assert [(p.name, p.address, p.tcp_port) for p in target.probe_targets()] == [
        ("app1", "10.1.1.4", 443),
        ("data1", "10.1.2.4", 443),
        ("spoke1-app", "10.2.1.4", 443),
        ("spoke2-app", "10.3.1.4", 443),
    ]
    assert {"10.2.0.0/16", "10.3.0.0/16"} <= set(target.allowed_networks())


def test_spokes_with_gateway_transit_are_advertised_over_both_paths() -> None:
    from erdrill.lab.sessions import azure_advertised

    er, vpn = azure_advertised(load_topology(REDUNDANT))
    assert er == vpn == ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"]


def test_a_full_mesh_gives_each_tunnel_one_port_pair_at_both_ends() -> None:
    data = yaml.safe_load(REDUNDANT.read_text())
    data["vpn"]["devices"] = ["vpn-edge", "ce2"]
    tunnels = plan(parse_topology(data)).tunnels
    assert [(t.device, t.instance, t.slot) for t in tunnels] == [
        ("vpn-edge", "vpn-gw-1", 0),
        ("vpn-edge", "vpn-gw-2", 1),
        ("ce2", "vpn-gw-1", 1),
        ("ce2", "vpn-gw-2", 0),
    ]
    assert tunnels[1].ports() == (1500, 5500) and tunnels[0].ports() == (500, 4500)


def test_cli_refuses_an_unfit_fault_in_one_line(tmp_path: Path) -> None:
    erdrill = Path(__file__).parents[1] / ".venv" / "bin" / "erdrill"
    out = subprocess.run(
        [str(erdrill), "lab", "--prefix", "erd-nolab", "fault", "secondary-link-down"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ERDRILL_LAB_ROOT": str(tmp_path)},
    )
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0, out.stderr
    assert "secondary-link-down does not fit topology 'reference'" in out.stderr
