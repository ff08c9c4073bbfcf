"""The drill end to end through azure-mgmt-network against the lab's Azure face.

Runs `pytest features/ --target azure --drill-config examples/lab-as-azure.toml` in a
subprocess with its own lab prefix (erd-azt-<pid>), lab root, state folder, drill folder and
Allure results, from a scratch working directory so nothing lands in the repository.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from drillrun import session_prefix
from labkit import make_topology

from erdrill.lab.lab import Lab

ROOT = Path(__file__).parents[1]
PREFIX = session_prefix("erd-azt")  # per test session: concurrent runs never share a lab
REFUSAL = "erdrill: refused: disable-peering disrupts circuit er-circuit; nothing was sent"

Run = Callable[..., tuple[subprocess.CompletedProcess[str], Path]]


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A private folder outside pytest's basetemp, which a concurrent pytest may prune."""
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-"))
    yield folder
    lab = Lab(make_topology(prefix=PREFIX), run_root=folder / "labs", state_dir=folder / "state")
    if lab.existing_namespaces():  # a drill killed before its teardown
        lab.down()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def azure_drill(scratch: Path) -> Run:
    """Run the Azure drill; returns the finished process and its drills folder."""
    tmp_path = scratch
    topology = tmp_path / "topology.yaml"
    topology.write_text(f"extends: default\nname: azt\nprefix: {PREFIX}\n")
    env = {
        **os.environ,
        "ERDRILL_STATE_DIR": str(tmp_path / "state"),
        "ERDRILL_LAB_ROOT": str(tmp_path / "labs"),
    }

    def run(
        *extra: str, config: str = "lab-as-azure.toml"
    ) -> tuple[subprocess.CompletedProcess[str], Path]:
        drills = tmp_path / "drills"
        argv = [
            sys.executable, "-m", "pytest", str(ROOT / "features"), "-p", "no:cacheprovider",
            "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
            "--target", "azure", "--drill-config", str(ROOT / "examples" / config),
            "--lab-topology", str(topology), "--drills-dir", str(drills),
            "--alluredir", str(tmp_path / "allure"), *extra,
        ]  # fmt: skip
        done = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        return done, drills

    return run


def _records(drills: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(drills.glob("*/drill.json"))]


def _face_requests(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "labs" / PREFIX / "armface" / "requests.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def _access_log(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "labs" / PREFIX / "armface" / "access.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def _namespaces_left() -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return [ln.split()[0] for ln in out.stdout.splitlines() if ln.startswith(f"{PREFIX}-")]


def test_disruptive_scenario_is_refused_without_allow_disruption(
    azure_drill: Run, scratch: Path
) -> None:
    done, drills = azure_drill()
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert REFUSAL in done.stdout, done.stdout[-3000:]
    # the lab-only scenarios are deselected, however many there are; the other Azure fault
    # methods' scenarios (azure_methods.feature) do not fit disable-peering: skipped
    assert re.search(r"1 passed, 4 skipped, \d+ deselected", done.stdout), done.stdout[-500:]
    requests = _face_requests(scratch)
    assert requests, "the steady-state scenario read nothing through the face"
    assert [r for r in requests if r["write"]] == []
    assert [r for r in requests if r["method"] not in {"GET", "POST"}] == []
    assert all(r.get("fault") is None for r in _records(drills))
    assert _namespaces_left() == []


def test_drill_fails_over_to_the_vpn_and_back_through_the_sdk(
    azure_drill: Run, scratch: Path
) -> None:
    done, drills = azure_drill("--allow-disruption")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"2 passed, 3 skipped, \d+ deselected", done.stdout), done.stdout[-500:]
    (record,) = [r for r in _records(drills) if r.get("fault")]
    assert record["target"] == "azure"
    assert record["fault"] == "disable-peering"
    assert record["verdict"] == "passed", record["message"]
    assert record["labels"]["lab prefix"] == PREFIX
    for transition in ("failover", "failback"):
        figures = record[transition]
        assert figures["outage_ms"] is not None and figures["loss_derived_ms"] is not None
        assert figures["sent"] > 0 and figures["recovered"]
    assert record["paths"]["before"] == {"forward": "expressroute", "return": "expressroute"}
    assert record["paths"]["during"] == {"forward": "vpn", "return": "vpn"}
    assert record["paths"]["after"] == {"forward": "expressroute", "return": "expressroute"}
    writes = [r for r in _face_requests(scratch) if r["write"]]
    assert [(r["method"], r["operation"]) for r in writes] == [
        ("PUT", "ExpressRouteCircuitPeerings_CreateOrUpdate")
    ] * 2  # Disabled, then Enabled
    assert list((scratch / "state").glob("journal-*.json")) == []
    assert _namespaces_left() == []


def _entry(**undo: str) -> dict[str, Any]:
    return {
        "run_id": "r1",
        "fault": "disable-peering",
        "undo": {
            "target": "azure",
            "fault": "disable-peering",
            "subscription_id": "00000000-0000-4000-8000-00000000e7d1",
            "resource_group": "rg-er",
            "circuit": "er-circuit",
            "peering": "AzurePrivatePeering",
            "arm_endpoint": "https://management.azure.com",
            **undo,
        },
    }


def test_repair_without_allow_disruption_names_what_is_left() -> None:
    from erdrill.core.journal import OpenFault
    from erdrill.targets.azure import undo_azure_entry

    with pytest.raises(OpenFault) as caught:
        undo_azure_entry(_entry(), allow_disruption=False)
    message = str(caught.value)
    assert "\n" not in message
    assert "peering AzurePrivatePeering of circuit er-circuit (resource group rg-er" in message
    assert "is still Disabled since drill r1" in message
    assert "--allow-disruption" in message


def test_repair_of_a_lab_face_fault_on_a_lab_that_is_down_is_nothing(tmp_path: Path) -> None:
    from erdrill.targets.azure import undo_azure_entry

    entry = _entry(arm_endpoint="lab", prefix=PREFIX, run_root=str(tmp_path))
    undo_azure_entry(entry, allow_disruption=False)  # no namespaces: nothing left to undo


def test_plan_reads_prints_every_write_and_writes_nothing(azure_drill: Run, scratch: Path) -> None:
    done, drills = azure_drill("--plan", "-k", "documented")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "1 skipped" in done.stdout and "planned: every write was printed" in done.stdout
    assert "plan: would" in done.stdout or "plan:" in done.stdout, done.stdout[-3000:]
    requests = _face_requests(scratch)
    assert requests, "the plan made no reads"
    assert [r for r in requests if r["write"]] == [], "a write reached the face"
    (record,) = [r for r in _records(drills) if r.get("fault")]
    assert record["verdict"] == "planned", record["message"]
    writes = [c for c in record["api_calls"] if c["write"]]
    assert writes and not any(c["performed"] for c in writes), record["api_calls"]
    assert _namespaces_left() == []


def test_plan_is_refused_for_the_lab(scratch: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", str(ROOT / "features"), "-p", "no:cacheprovider",
         "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), "--plan"],
        cwd=scratch, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 4, done.stdout[-2000:]
    assert (
        "--plan: target: --plan prints Azure writes; the lab has none" in done.stdout + done.stderr
    )


@pytest.mark.slow
def test_the_documented_plan_passes_against_a_face_that_behaves_as_azure(
    azure_drill: Run, scratch: Path
) -> None:
    """Writes of 25 s that shut BGP 12 s in, Retry-After 10, reads of seconds, a 429 and a
    409 on the way: the drill passes and its outage agrees with the lab's event log."""
    from erdrill.drill.ground_truth import agreement

    done, drills = azure_drill(
        "--allow-disruption", "-k", "documented", config="lab-as-azure-realistic.toml"
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    (record,) = [r for r in _records(drills) if r.get("fault")]
    assert record["verdict"] == "passed", record["message"]
    fault = next(e for e in record["events"] if e["kind"] == "fault")
    truth = record["ground_truth"]
    changed = truth["fault_at"] - fault["wall"]  # the lab's event log: when BGP was shut
    assert 11.0 <= changed <= 16.0, (fault, truth["fault_at"])  # 12 s into the 25 s write
    assert fault["returned"] - fault["wall"] >= 25.0, fault  # the SDK waited the write out
    # effective: the first lost probe, else (a hitless failover) the first path change the
    # watcher saw, whose reads take Retry-After 10 s and the read delay: after BGP was shut
    lag = fault["effective"] - truth["fault_at"]
    assert -0.5 <= lag <= 15.0, (fault, truth["fault_at"])
    outage = record["failover"]["outage_ms"]
    assert agreement(truth, outage, record["sampling_interval_ms"]) is None, truth["tolerance_ms"]
    log = _access_log(scratch)
    statuses = {r["status"] for r in log}
    assert {429, 409} <= statuses, sorted(statuses)
    network = [r for r in log if "/Microsoft.Authorization/" not in r["path"]]  # permissions
    assert network and all(r["api_version"] == "2026-03-01" for r in network)
    polls: dict[str, list[float]] = {}
    for r in log:
        if r["operation"] == "operation-status":
            polls.setdefault(r["path"], []).append(r["at"])
    gaps = [b - a for at in polls.values() for a, b in itertools.pairwise(at)]
    assert gaps and min(gaps) >= 9.5, "the SDK polled faster than Retry-After 10"
    puts = [r for r in log if r["method"] == "PUT"]
    assert next(r["status"] for r in puts if r["status"] != 429) == 200  # an update: 200
    assert any(c["action"] == "peering write" for c in record["api_calls"])
    assert list((scratch / "state").glob("journal-*.json")) == []
    assert _namespaces_left() == []
