"""A lab fault resolved once and carried as one object; the journal is the lab's fault list.

Pure: no namespace is built. A lab's active faults are its journal's open lab entries;
`LabFault.from_journal` reads back what `journal_entry` wrote; a combined kind runs
every part's undo and names each failure.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from labkit import make_topology

from erdrill.core import journal
from erdrill.core.errors import ConfigError
from erdrill.core.faults import FaultLedger, FaultsNotUndone
from erdrill.lab.faults import FAULTS, fault_kind
from erdrill.lab.lab import Lab
from erdrill.lab.lab_fault import LabFault, journal_key
from erdrill.lab.topology import Topology
from erdrill.targets.lab import LabTarget
from erdrill.targets.target import target_key


def _lab(tmp_path: Path) -> Lab:
    return Lab(make_topology(prefix="erd-fr-pure"), run_root=tmp_path / "labs", state_dir=tmp_path)


def test_the_lab_faults_are_its_open_journal_entries(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    assert lab.journal_key == journal_key("erd-fr-pure") == "lab-erd-fr-pure"
    ledger = FaultLedger(lab.journal_key, "run-1", tmp_path)
    for name in ("vpn-down", "provider-link-down+vpn-down"):
        ledger.open(LabFault(fault_kind(name), lab))
    azure = {"target": "azure", "method": "disable-peering"}  # not the lab's
    journal.open_entry(lab.journal_key, "run-2", "disable-peering", azure, tmp_path)
    journal.open_entry(lab.journal_key, "run-3", "old-kind", {"target": "lab"}, tmp_path)
    assert lab.active_faults() == ["vpn-down", "provider-link-down+vpn-down"]
    assert Lab(lab.topology, tmp_path / "labs").active_faults() == []  # another journal
    lab.down()  # not up: nothing to remove, and its faults are gone with it
    assert lab.active_faults() == []


def test_a_journal_entry_reads_back_as_the_same_fault_on_the_same_lab(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    fault = LabFault(fault_kind("circuit-down+vpn-down"), lab)
    FaultLedger(lab.journal_key, "run-1", tmp_path).open(fault)
    [entry] = journal.open_entries(lab.journal_key, tmp_path)
    assert entry["undo"] == fault.journal_entry()
    again = Lab.of_entry(entry, tmp_path)
    assert (again.run_dir, again.state_dir) == (lab.run_dir, tmp_path)
    back = LabFault.from_journal(entry, again)
    assert back.name == fault.name and back.moves_to_vpn
    assert [p.name for p in [FAULTS["circuit-down"], FAULTS["vpn-down"]]] == back.name.split("+")


def test_an_unknown_kind_fails_in_one_line_naming_the_choices() -> None:
    with pytest.raises(ConfigError, match=r"^lab: fault: unknown fault kind 'cut'; use one of "):
        fault_kind("vpn-down+cut")


class FailingLab:
    """The few lab operations a fault makes, recorded; BIRD refuses."""

    def __init__(self, topology: Topology) -> None:
        self.topology = topology
        self.calls: list[str] = []

    def node_dir(self, node: str) -> Path:
        return Path("/nonexistent") / node

    def set_link(self, node: str, iface: str, up: bool) -> None:
        self.calls.append(f"link {node} {iface} {'up' if up else 'down'}")

    def nft(self, node: str, script: str, missing_ok: bool = False) -> None:
        self.calls.append(f"nft {node}")

    def birdc(self, node: str, command: str) -> str:
        raise OSError(f"bird on {node} does not answer")

    def swanctl_at(self, end_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
        raise AssertionError("not used")


def test_a_combined_kind_runs_every_undo_and_names_each_failure() -> None:
    lab = FailingLab(make_topology())
    combined = fault_kind("provider-link-down+peering-disabled", lab.topology)
    with pytest.raises(FaultsNotUndone) as caught:
        combined.undo(lab)  # right to left: the peering's undo fails, the links still come up
    assert [name for name, _ in caught.value.failures] == ["peering-disabled"]
    assert "bird on msee does not answer" in str(caught.value)
    assert lab.calls and all(call.endswith(" up") for call in lab.calls)


def test_a_lab_target_locks_and_journals_under_its_lab_key(tmp_path: Path) -> None:
    lab = _lab(tmp_path)
    target = LabTarget(lab)
    assert target.identity == "erd-fr-pure"  # a field, not read back from a display label
    assert target_key(target) == lab.journal_key
    fault = target.fault("vpn-down")
    assert isinstance(fault, LabFault) and fault.kind is FAULTS["vpn-down"]  # resolved once
    assert fault.journal_entry()["prefix"] == "erd-fr-pure"
