"""The real lab: daemons up, faults move traffic to the VPN and back, down leaves nothing."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest
from labkit import make_topology

from erdrill.core import journal
from erdrill.core.faults import FaultLedger
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN, PathKind
from erdrill.lab.build import build
from erdrill.lab.faults import FAULTS, fault_kind
from erdrill.lab.lab import Lab, _pids_in
from erdrill.lab.lab_fault import LabFault

ERDRILL = str(Path(__file__).parents[1] / ".venv" / "bin" / "erdrill")


def test_steady_state(lab: Lab) -> None:
    sessions = lab.bgp_sessions()
    assert len(sessions) == 10
    assert set(sessions.values()) == {"established"}, sessions
    assert lab.ipsec_state() == "up"
    assert lab.paths() == ON_EXPRESSROUTE
    assert lab.reachable()


def test_route_tables_are_classified(lab: Lab) -> None:
    tables = {t.owner: t for t in lab.route_tables()}
    assert tables["onprem-edge"].path_to("10.1.0.0/16") is PathKind.EXPRESSROUTE
    assert tables["vnet"].path_to("192.168.10.0/24") is PathKind.EXPRESSROUTE


@pytest.mark.parametrize("kind", [k for k, f in FAULTS.items() if f.moves_to_vpn])
def test_fault_moves_both_directions_to_vpn_and_back(healthy_lab: Lab, kind: str) -> None:
    lab = healthy_lab
    started = time.time()
    lab.inject(kind)
    assert lab.wait_paths(ON_VPN, timeout=20) == ON_VPN
    tables = {t.owner: t for t in lab.route_tables()}
    assert tables["onprem-edge"].path_to("10.1.0.0/16") is PathKind.VPN
    assert lab.active_faults() == [kind]
    lab.restore(kind)
    assert lab.paths() == ON_EXPRESSROUTE
    log = lab.ground_truth(since=started)
    kinds = [(e["kind"], e.get("fault")) for e in log]
    assert ("fault", kind) in kinds and ("restore", kind) in kinds
    routes = [e for e in log if e["kind"] == "route"]
    assert {(e["node"], e["path"]) for e in routes} >= {
        ("onprem-edge", "vpn"),
        ("vnet", "vpn"),
        ("onprem-edge", "expressroute"),
        ("vnet", "expressroute"),
    }, routes


def test_vpn_down_keeps_expressroute(healthy_lab: Lab) -> None:
    lab = healthy_lab
    lab.inject("vpn-down")
    deadline = time.monotonic() + 15
    while lab.bgp_sessions()["onprem-edge/s2s"] == "established" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert lab.bgp_sessions()["onprem-edge/s2s"] != "established"
    assert lab.ipsec_state() == "down"
    assert lab.paths() == ON_EXPRESSROUTE
    lab.restore("vpn-down")
    assert lab.ipsec_state() == "up"


def test_status_json_cli(lab: Lab) -> None:
    env = {
        **os.environ,
        "ERDRILL_LAB_ROOT": str(lab.run_dir.parent),
        "ERDRILL_LAB_PREFIX": lab.topology.prefix,
    }
    out = subprocess.run(
        [ERDRILL, "lab", "status", "--json"], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    assert st["up"] is True
    assert st["ipsec"] == "up"
    assert set(st["bgp"].values()) == {"established"}
    assert st["paths"] == {"forward": "expressroute", "return": "expressroute"}


def test_up_is_idempotent(lab: Lab) -> None:
    pids = sorted(_pids_in(lab.namespace("msee")))
    lab.up()
    assert sorted(_pids_in(lab.namespace("msee"))) == pids


def test_down_leaves_nothing(tmp_path: Path, lab_prefix: str) -> None:
    own = Lab(make_topology(prefix=lab_prefix), run_root=tmp_path)
    own.up()
    namespaces = own.topology.namespaces
    pids = [p for ns in namespaces for p in _pids_in(ns)]
    assert pids, "the lab runs daemons"
    own.down()
    listed = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert not [ns for ns in namespaces if ns in listed.split()]
    for pid in pids:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


def test_down_after_crashed_up(tmp_path: Path, lab_prefix: str) -> None:
    """A `lab up` killed half-way leaves namespaces and daemons that `down` still removes."""
    crashed = Lab(make_topology(prefix=lab_prefix), run_root=tmp_path)
    crashed.run_dir.mkdir(parents=True)
    build(crashed)  # namespaces and links, no daemons yet: as if `up` died here
    subprocess.Popen(["ip", "netns", "exec", crashed.namespace("msee"), "sleep", "300"])
    assert crashed.existing_namespaces()
    Lab(make_topology(prefix=lab_prefix), run_root=tmp_path).down()
    assert not crashed.existing_namespaces()


def test_cli_faults_live_in_the_journal(healthy_lab: Lab) -> None:
    """`lab fault` journals and keeps its fault (the next command's repair leaves it), `lab
    status` lists it from the journal, `lab restore` clears it; a `lab fault` that died
    halfway (journaled, never kept) is undone by the next command."""
    lab = healthy_lab
    env = {
        **os.environ,
        "ERDRILL_LAB_ROOT": str(lab.run_dir.parent),
        "ERDRILL_LAB_PREFIX": lab.topology.prefix,
        "ERDRILL_STATE_DIR": str(lab.state_dir),
    }

    def erdrill(*args: str) -> subprocess.CompletedProcess[str]:
        out = subprocess.run([ERDRILL, "lab", *args], capture_output=True, text=True, env=env)
        assert out.returncode == 0, out.stderr
        return out

    erdrill("fault", "provider-link-down")
    [entry] = journal.open_entries(lab.journal_key, lab.state_dir)
    assert entry["fault"] == "provider-link-down" and entry[journal.KEPT] is True
    assert lab.wait_paths(ON_VPN, timeout=20) == ON_VPN
    assert json.loads(erdrill("status", "--json").stdout)["faults"] == ["provider-link-down"]
    assert "restored: provider-link-down" in erdrill("restore").stdout
    assert lab.active_faults() == [] and lab.paths() == ON_EXPRESSROUTE

    died = LabFault(fault_kind("provider-link-down"), lab)
    FaultLedger(lab.journal_key, "erdrill lab fault", lab.state_dir).open(died)
    died.inject()  # ...and the command dies before it marks the entry kept
    out = erdrill("status", "--json")
    assert "undid a fault an earlier drill left in place" in out.stderr
    assert json.loads(out.stdout)["faults"] == [] and lab.active_faults() == []
    assert lab.paths() == ON_EXPRESSROUTE
