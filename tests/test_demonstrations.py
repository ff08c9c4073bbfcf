"""Labs misconfigured on purpose demonstrate a finding; freshness leaves them out (they
are no target anyone must drill), and the record says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from erdrill.core.record import DrillRecord, TransitionFigures
from erdrill.lab.topology import DEFAULT_TOPOLOGY, load_topology
from erdrill.reports import freshness, history
from erdrill.targets.lab import LabTarget

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _drill(run_id: str, topology: str, prefix: str, **extra: Any) -> DrillRecord:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "target": "lab",
        "scenario": "a scenario",
        "started_at": (NOW - timedelta(seconds=20)).isoformat(),
        "finished_at": NOW.isoformat(),
        "verdict": "passed",
        "labels": {"topology": topology, "lab prefix": prefix, "timer profile": "fast"},
    }
    return DrillRecord(**(fields | extra))


def _history(tmp_path: Path) -> list[DrillRecord]:
    """A run as `pytest features/` leaves it: a failover drill and three steady-state checks,
    two of them on labs misconfigured on purpose (told by the tag or by the topology)."""
    path = tmp_path / "drills.jsonl"
    figures = TransitionFigures(outage_ms=250.0, sent=100, lost=5, recovered=True)
    history.append(_drill("plan", "reference", "erd-lab", fault="provider-link-down",
                          failover=figures, failback=figures), path)  # fmt: skip
    history.append(_drill("steady", "reference", "erd-lab", tags=["lab", "steady_state"]), path)
    history.append(_drill("prefers", "onprem-prefers-vpn", "erd-miscfg",
                          tags=["lab", "misconfigured", "steady_state"]), path)  # fmt: skip
    labels = {"topology": "vpn-more-specific", "lab prefix": "erd-miscfg",
              "demonstration": "yes"}  # fmt: skip
    history.append(_drill("specific", "vpn-more-specific", "erd-miscfg", labels=labels), path)
    return history.read(path)


def test_demonstrations_are_not_in_freshness(tmp_path: Path) -> None:
    records = _history(tmp_path)
    targets = freshness.freshness(records, NOW)
    assert [f.key[1] for f in targets] == ["reference"]
    assert not targets[0].overdue
    assert not any("OVERDUE" in line for line in freshness.freshness_lines(targets))
    assert [r.run_id for r in records if freshness.is_demonstration(r)] == ["prefers", "specific"]
    assert freshness.of_target(records[2], records, NOW) is None


def test_a_steady_state_check_alone_still_leaves_a_real_target_overdue(tmp_path: Path) -> None:
    steady = _drill("steady", "reference", "erd-other", tags=["lab", "steady_state"])
    (only,) = freshness.freshness([steady], NOW)
    assert only.overdue and "no passing failover drill" in only.text()


@pytest.mark.parametrize(
    ("name", "shows"),
    [
        ("default", False),
        ("redundant", False),
        ("onprem-prefers-vpn", True),
        ("onprem-prefers-vpn-firewall", True),
        ("vpn-more-specific", True),
    ],
)
def test_the_shipped_topologies_say_which_are_demonstrations(name: str, shows: bool) -> None:
    topology = load_topology(DEFAULT_TOPOLOGY.parent / f"{name}.yaml")
    assert topology.demonstration is shows
    labels = LabTarget.shipped(name, "erd-nc-demo").describe()  # what the record keeps
    assert (labels.get("demonstration") == "yes") is shows
