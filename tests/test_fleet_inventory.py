"""The fleet inventory is validated before anything starts: each problem is one line
naming the field and the fix, and `erdrill fleet run` exits with a usage (2) or harness
(13) code before a drill, a server or a lab exists. Recorded workflow histories replay."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest
from fleetkit import ERDRILL, free_port
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from erdrill.core.errors import ConfigError
from erdrill.fleet.inventory import load_inventory
from erdrill.fleet.locks import ResourceLock
from erdrill.fleet.workflows import CircuitDrill, FleetCampaign

FIXTURES = Path(__file__).parent / "fixtures"
GOOD = """\
sites: [west, east]
circuits:
  - {name: a, site: west, config: drill.toml, resources: {peering_location: Amsterdam}}
  - {name: b, site: east, config: drill.toml}
"""


def _inventory(tmp_path: Path, text: str) -> Path:
    (tmp_path / "drill.toml").write_text("[drill]\nprobe_rate = 50\n")
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    return path


def test_a_good_inventory_resolves_paths_and_sorts_resources(tmp_path: Path) -> None:
    inv = load_inventory(_inventory(tmp_path, GOOD))
    assert [c.name for c in inv.circuits] == ["a", "b"]
    assert inv.circuits[0].config == tmp_path / "drill.toml"
    assert inv.circuits[0].resources.keys() == ["peering-location:Amsterdam"]
    assert inv.circuits[1].scenarios == "failover" and inv.interval_days == 90


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (("name: b,", "name: a,"), "circuits[1].name", "duplicate name 'a'; rename one"),
        (("config: drill.toml}", "config: gone.toml}"), "circuits[1].config", "no such file"),
        (("site: east", "site: north"), "circuits[1].site", "unknown site 'north'"),
        (("drill.toml}\n", "drill.toml, scenarios: 'failover and'}\n"), "circuits[1].scenarios",
         "bad tag expression"),
        (("drill.toml}\n", "drill.toml, topology: nope.yaml}\n"), "circuits[1].topology",
         "no such file"),
        (("sites: [west, east]", "sites: [west, east]\nconcurrency: 0"), "concurrency",
         "greater than or equal to 1"),
        (("sites: [west, east]", "sites: [west, east]\nconcurency: 2"), "concurency",
         "unknown field; remove it or fix its spelling"),
    ],
)  # fmt: skip
def test_a_bad_inventory_is_one_line_naming_the_field(
    tmp_path: Path, change: tuple[str, str], field: str, words: str
) -> None:
    path = _inventory(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as err:
        load_inventory(path)
    text = str(err.value)
    assert "\n" not in text and text.startswith(f"{path}: {field}: ") and words in text, text


def _fleet_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ERDRILL_STATE_DIR": str(tmp_path / "state")}
    return subprocess.run(
        [ERDRILL, "fleet", "run", *args, "--reports", str(tmp_path / "reports")],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "change", [("name: b,", "name: a,"), ("config: drill.toml}", "config: gone.toml}"),
               ("site: east", "site: north")],
)  # fmt: skip
def test_fleet_run_refuses_a_bad_inventory_before_anything_starts(
    tmp_path: Path, change: tuple[str, str]
) -> None:
    done = _fleet_run(tmp_path, str(_inventory(tmp_path, GOOD.replace(*change))))
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("erdrill: error: ") and "Traceback" not in done.stderr
    assert not (tmp_path / "reports").exists()


def test_fleet_run_refuses_an_unreachable_temporal_before_anything_starts(tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    done = _fleet_run(tmp_path, str(_inventory(tmp_path, GOOD)), "--temporal", address)
    assert done.returncode == 13, done.stdout + done.stderr
    assert done.stdout == "" and len(done.stderr.splitlines()) == 1, done.stderr
    assert f"no Temporal server at {address}" in done.stderr
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("name", "workflow_id"),
    [("fleet-campaign", "erdrill-campaign-recorded"),
     ("circuit-drill", "erdrill-campaign-recorded.amsterdam-1")],
)  # fmt: skip
def test_a_recorded_history_replays(name: str, workflow_id: str) -> None:
    """Histories recorded from a campaign of two lab circuits (examples/fleet-lab.yaml,
    `fetch_history().to_json()`): today's workflow code must replay them unchanged."""
    text = (FIXTURES / f"history-{name}.json").read_text()
    history = WorkflowHistory.from_json(workflow_id, text)
    replayer = Replayer(workflows=[FleetCampaign, CircuitDrill, ResourceLock])
    asyncio.run(replayer.replay_workflow(history))
