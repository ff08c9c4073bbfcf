"""SIGKILL of the drill at any phase: the next `erdrill` command or drill run repairs first.

A killed drill cannot undo anything; its journal entry can. These tests kill the drill
(after the fault, on the VPN, during failback) against this module's own lab and check
that the next command undoes the fault from the journal before doing anything else,
that the lab is reused, and that an Azure fault is never undone without consent.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from drillrun import (
    DOCUMENTED_PLAN,
    STEADY_STATE,
    Workspace,
    finish,
    output,
    records,
    session_prefix,
    wait_paused,
)

from erdrill.core import journal
from erdrill.core.exitcodes import ExitCode
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    w = Workspace(tmp_path_factory.mktemp("repair"), session_prefix("erd-rep"))
    yield w
    w.lab.down()
    assert w.leftovers() == []


def _kill_at(ws: Workspace, phase: str) -> dict[str, Any]:
    drills = ws.root / f"killed-{phase}"
    proc = ws.start(DOCUMENTED_PLAN, drills, pause_at=phase, keep_lab=False)
    wait_paused(proc, drills, phase)
    os.kill(proc.pid, signal.SIGKILL)
    assert finish(proc, drills) == -signal.SIGKILL
    [record] = records(drills)  # the record written at the last phase change survives
    assert record["verdict"] == "aborted" and record["phase"] == phase
    return record


def _wait_paths(ws: Workspace, expected: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while ws.lab.paths() != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ws.lab.paths() == expected


def test_killed_after_the_fault_the_next_erdrill_command_undoes_it(ws: Workspace) -> None:
    record = _kill_at(ws, "failover")
    [entry] = ws.open_faults()
    assert entry["run_id"] == record["run_id"] and entry["fault"] == "provider-link-down"
    _wait_paths(ws, ON_VPN)  # the fault is really still in place

    out = ws.erdrill("lab", "status", "--json")
    assert out.returncode == 0, out.stderr
    assert "undid a fault an earlier drill left in place" in out.stderr
    assert record["run_id"] in out.stderr
    assert ws.open_faults() == []
    assert json.loads(out.stdout)["faults"] == []  # repaired before the command ran
    _wait_paths(ws, ON_EXPRESSROUTE)


def test_killed_on_the_vpn_the_next_drill_run_repairs_and_reuses_the_lab(
    ws: Workspace,
) -> None:
    record = _kill_at(ws, "on-vpn")
    assert ws.lab.paths() == ON_VPN and ws.open_faults()
    namespaces = {ns: os.stat(f"/run/netns/{ns}").st_ino for ns in ws.lab.existing_namespaces()}

    drills = ws.root / "after-kill-on-vpn"
    proc = ws.start(STEADY_STATE, drills)
    code = finish(proc, drills)
    log = output(drills)
    assert code == ExitCode.PASSED, log[-3000:]
    assert "undid a fault an earlier drill left in place: " in log and record["run_id"] in log
    assert ws.open_faults() == []
    assert ws.lab.paths() == ON_EXPRESSROUTE
    # the stale lab was reused, not rebuilt
    assert {ns: os.stat(f"/run/netns/{ns}").st_ino for ns in ws.lab.existing_namespaces()} == (
        namespaces
    )


def test_killed_during_failback_the_next_run_takes_over_the_lock(ws: Workspace) -> None:
    record = _kill_at(ws, "failback")
    assert ws.open_faults() == []  # the undo had completed and cleared its entry
    drills = ws.root / "after-kill-in-failback"
    proc = ws.start(STEADY_STATE, drills, keep_lab=False)
    code = finish(proc, drills)
    log = output(drills)
    assert code == ExitCode.PASSED, log[-3000:]
    assert f"took over a stale drill lock of run {record['run_id']}" in log
    assert ws.leftovers() == []


def test_an_azure_fault_is_not_undone_without_consent(ws: Workspace) -> None:
    undo = {"target": "azure", "circuit": "er-circuit", "method": "disable-peering"}
    journal.open_entry("azure-er-circuit", "run-azure-1", "peering-disabled", undo, ws.state_dir)
    try:  # the entry's drill is gone: its lock is free
        out = ws.erdrill("lab", "status")
        assert out.returncode == ExitCode.OPEN_FAULT, out.stdout + out.stderr
        [line] = out.stderr.strip().splitlines()
        for needed in ("peering-disabled", "run-azure-1", "azure-er-circuit", socket.gethostname()):
            assert needed in line
        assert "--allow-disruption" in line  # and how to undo it
        assert "lab is" not in out.stdout  # refused before doing anything
        assert journal.open_entries("azure-er-circuit", ws.state_dir)  # still known
    finally:
        journal.close_entry("azure-er-circuit", "peering-disabled", ws.state_dir)


def test_repair_leaves_the_entries_of_a_running_drill_alone(ws: Workspace) -> None:
    lock = journal.acquire("lab-someone", "run-live", ws.state_dir)
    try:
        journal.open_entry("lab-someone", "run-live", "vpn-down", {"target": "lab"}, ws.state_dir)
        undone: list[str] = []
        assert journal.repair({"lab": lambda e: undone.append("x")}, ws.state_dir) == []
        assert undone == [] and journal.open_entries("lab-someone", ws.state_dir)
    finally:
        lock.release()
    assert journal.repair({"lab": lambda e: None}, ws.state_dir, "lab-someone")
    assert journal.open_entries("lab-someone", ws.state_dir) == []
