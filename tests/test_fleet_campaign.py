"""Fleet campaigns against a real Temporal dev server and real labs: shared resources
never drilled at once (within a campaign and across two), a drill host killed with its
fault in place undone from another worker, a Schedule, the live histories replayed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fleetkit import (
    by_name,
    campaign,
    circuit,
    dev_server,
    fleet_run,
    labs_down,
    overlap,
    start_worker,
    stop_worker,
    write_inventory,
)
from temporalio.client import Client
from temporalio.worker import Replayer

from erdrill.fleet.locks import ResourceLock
from erdrill.fleet.workflows import CircuitDrill, FleetCampaign
from erdrill.lab.lab import Lab

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def temporal() -> Iterator[str]:
    with dev_server() as address:
        yield address


@pytest.fixture
def prefixes(lab_prefix: str, drill_workspace: Path) -> Iterator[list[str]]:
    """Six lab prefixes of this test process; every lab is gone afterwards."""
    out = [f"{lab_prefix[:-2]}-{x}" for x in "abcdef"]
    yield out
    labs_down(out, drill_workspace / "labs")


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    out, _ = proc.communicate(timeout=timeout)
    return out


def test_a_campaign_never_drills_two_circuits_sharing_a_resource_at_once(
    temporal: str, drill_workspace: Path, prefixes: list[str]
) -> None:
    ws = drill_workspace
    inv = write_inventory(ws / "inv", [
        circuit("ams-1", "west", prefixes[0], peering_location="Amsterdam"),
        circuit("ams-2", "west", prefixes[1], peering_location="Amsterdam"),
        circuit("dub-1", "east", prefixes[2], peering_location="Dublin"),
    ], concurrency=2)  # fmt: skip
    worker = start_worker(temporal, ["west", "east"], ws / "state", ws / "worker.log")
    try:
        run = fleet_run(temporal, inv, ws / "reports")
        out = finish(run)
    finally:
        stop_worker(worker)
    assert run.returncode == 0, out + (ws / "worker.log").read_text()[-3000:]
    result = campaign(ws / "reports", out)
    c = by_name(result)
    assert {n: r["verdict"] for n, r in c.items()} == dict.fromkeys(c, "passed")
    assert all(r["records"][0]["verdict"] == "passed" for r in c.values())
    assert not overlap(c["ams-1"], c["ams-2"])
    assert overlap(c["dub-1"], c["ams-1"]) or overlap(c["dub-1"], c["ams-2"])
    assert not any(Lab.current(p, ws / "labs").existing_namespaces() for p in prefixes[:3])
    # One Allure results folder for the campaign, each circuit its own parent suite.
    merged = ws / "reports" / result["campaign_id"] / "allure-results"
    suites = [
        {x["value"] for x in json.loads(f.read_text())["labels"] if x["name"] == "parentSuite"}
        for f in merged.glob("*-result.json")
    ]
    assert sorted(s for group in suites for s in group) == ["ams-1", "ams-2", "dub-1"]
    # Every workflow of the campaign replays from its recorded history (determinism).
    asyncio.run(_replay(temporal, result["campaign_id"]))


async def _replay(address: str, campaign_id: str) -> None:
    client = await Client.connect(address)
    histories = client.list_workflows(f"WorkflowId STARTS_WITH '{campaign_id}'").map_histories()
    replayed = await Replayer(
        workflows=[FleetCampaign, CircuitDrill, ResourceLock]
    ).replay_workflows(histories, raise_on_replay_failure=False)
    assert not replayed.replay_failures, replayed.replay_failures


def test_two_campaigns_started_together_never_drill_a_shared_resource_at_once(
    temporal: str, drill_workspace: Path, prefixes: list[str]
) -> None:
    ws = drill_workspace
    first = write_inventory(ws / "one", [
        circuit("edge-1", "west", prefixes[0], ce_routers=["ce-shared"]),
    ])  # fmt: skip
    second = write_inventory(ws / "two", [
        circuit("edge-2", "west", prefixes[1], ce_routers=["ce-shared"], peering_location="X"),
    ])  # fmt: skip
    worker = start_worker(temporal, ["west"], ws / "state", ws / "worker.log")
    try:
        runs = [fleet_run(temporal, inv, ws / "reports") for inv in (first, second)]
        outs = [finish(r) for r in runs]
    finally:
        stop_worker(worker)
    assert [r.returncode for r in runs] == [0, 0], "\n".join(outs)
    one, two = (by_name(campaign(ws / "reports", o)) for o in outs)
    assert not overlap(one["edge-1"], two["edge-2"])
    waited = one["edge-1"]["waited"] + two["edge-2"]["waited"]
    assert len(waited) == 1 and waited[0].startswith("ce-router:ce-shared held by circuit edge-")


def _journal_entry(state: Path, timeout: float = 120) -> list[dict[str, object]]:
    """The drill's open journal entry: its fault is in place (or about to be)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in state.glob("journal-*.json"):
            try:
                entries = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if entries:
                return list(entries)
        time.sleep(0.05)
    raise AssertionError(f"no fault journaled in {state} within {timeout} s")


def test_a_killed_drill_host_has_its_fault_undone_by_another_worker(
    temporal: str, drill_workspace: Path, prefixes: list[str]
) -> None:
    ws = drill_workspace
    spec = [("doomed", "lost-site", "Paris"), ("fine-1", "west", "Amsterdam"),
            ("fine-2", "west", "Dublin")]  # fmt: skip
    circuits = [
        circuit(n, s, p, peering_location=at)
        for (n, s, at), p in zip(spec, prefixes[:3], strict=True)
    ]
    inv = write_inventory(ws / "inv", circuits, concurrency=3)
    doomed = start_worker(temporal, ["lost-site"], ws / "state-a", ws / "worker-a.log")
    other = start_worker(temporal, ["west"], ws / "state-b", ws / "worker-b.log")
    try:
        run = fleet_run(temporal, inv, ws / "reports", "--heartbeat-timeout", "5")
        (entry,) = _journal_entry(ws / "state-a")
        time.sleep(0.5)  # the fault goes in right after its entry
        os.killpg(doomed.pid, signal.SIGKILL)  # the host dies: worker and drill at once
        doomed.wait()
        out = finish(run)
    finally:
        stop_worker(doomed)
        stop_worker(other)
    assert run.returncode == 12, out  # aborted: the worst of the campaign
    c = by_name(campaign(ws / "reports", out))
    lost = c["doomed"]
    assert lost["verdict"] == "aborted" and lost["host_lost"] and lost["fault_undone"], lost
    assert lost["undo"]["expressroute"] is True
    assert f"pid {other.pid}" in lost["undo"]["host"]
    assert [c["fine-1"]["verdict"], c["fine-2"]["verdict"]] == ["passed", "passed"]
    lab = Lab.current(str(entry["undo"]["prefix"]), ws / "labs")  # type: ignore[index]
    assert lab.is_up() and not lab.active_faults()
    assert lab.healthy_problems(expect_expressroute=True) == []
    assert lab.reachable()


def test_a_schedule_is_created_and_triggered(
    temporal: str, drill_workspace: Path, prefixes: list[str]
) -> None:
    ws = drill_workspace
    inv = write_inventory(ws / "inv", [circuit("sched-1", "west", prefixes[3])])
    made = subprocess.run(
        [str(Path(sys.executable).parent / "erdrill"), "fleet", "schedule", str(inv), "--temporal", temporal,
         "--id", "erdrill-test-schedule", "--reports", str(ws / "reports")],
        capture_output=True, text=True, check=False, env={**os.environ, "PATH": os.environ["PATH"]},
    )  # fmt: skip
    assert made.returncode == 0, made.stdout + made.stderr
    worker = start_worker(temporal, ["west"], ws / "state", ws / "worker.log")
    try:
        result = asyncio.run(_trigger(temporal, "erdrill-test-schedule"))
    finally:
        stop_worker(worker)
    assert [c["verdict"] for c in result["circuits"]] == ["passed"]


async def _trigger(address: str, schedule_id: str) -> dict[str, object]:
    client = await Client.connect(address)
    handle = client.get_schedule_handle(schedule_id)
    desc = await handle.describe()
    assert desc.schedule.policy.overlap.name == "SKIP"
    await handle.trigger()
    for _ in range(100):
        desc = await handle.describe()
        if desc.info.recent_actions:
            break
        await asyncio.sleep(0.2)
    started = desc.info.recent_actions[-1].action
    wf = client.get_workflow_handle(started.workflow_id)  # type: ignore[attr-defined]
    result = await asyncio.wait_for(wf.result(), 200)
    await handle.delete()
    return dict(json.loads(json.dumps(result, default=lambda o: o.__dict__)))
