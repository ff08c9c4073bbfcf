"""The campaign result in words, its exit code (the worst circuit's) and `fleet status`:
each circuit's last drill from its history, OVERDUE past the inventory's interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from erdrill.core.outcomes import Verdict
from erdrill.core.record import DrillRecord
from erdrill.fleet.inventory import Circuit
from erdrill.fleet.jobs import CampaignResult, CircuitResult, UndoReport
from erdrill.fleet.results import campaign_exit_code, result_lines, status_lines
from erdrill.reports import history


def _result(*codes: int) -> CampaignResult:
    names = {0: "passed", 10: "limit exceeded", 12: "aborted", 16: "not restored"}
    return CampaignResult("c", [
        CircuitResult(f"n{i}", "s", names[code], code, "t0", "t1") for i, code in enumerate(codes)
    ])  # fmt: skip


def test_the_campaign_exits_with_its_worst_circuit() -> None:
    assert campaign_exit_code(_result(0, 0)) == 0
    assert campaign_exit_code(_result(0, 10, 12)) == 12
    assert campaign_exit_code(_result(12, 16, 10)) == 16


def test_a_lost_host_reads_aborted_host_lost_fault_undone() -> None:
    lost = CircuitResult(
        "ams-1", "west", "aborted", 12, "t0", "t1", host_lost=True, fault_undone=True,
        undo=UndoReport(["fault x"], True, None, "vm (pid 1)"), message="aborted: drill host lost",
    )  # fmt: skip
    lines = result_lines(CampaignResult("c", [lost]))
    assert "ams-1 [west]: ABORTED, host lost, fault undone: aborted: drill host lost" in lines
    assert lines[-1] == "campaign exit code 12 (aborted)"


def _drilled(reports: Path, name: str, days_ago: float, verdict: Verdict) -> None:
    at = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    record = DrillRecord(
        run_id=f"run-{days_ago}", target="lab", fault="provider-link-down", started_at=at,
        finished_at=at, verdict=verdict, labels={"lab prefix": name},
    )  # fmt: skip
    history.append(record, reports / name / "reports" / "history" / "drills.jsonl")


def test_status_says_which_circuits_are_overdue(tmp_path: Path) -> None:
    circuits = [
        Circuit(name=n, site="west", config=tmp_path / "d.toml") for n in ("new", "old", "fresh")
    ]
    _drilled(tmp_path, "old", 120, Verdict.PASSED)
    _drilled(tmp_path, "fresh", 100, Verdict.PASSED)
    _drilled(tmp_path, "fresh", 2, Verdict.PASSED)
    _drilled(tmp_path, "fresh", 1, Verdict.FAILED)
    new, old, fresh = status_lines(circuits, tmp_path, 90)
    assert new == "new [west]: OVERDUE: never drilled (interval 90 days)"
    assert old.startswith("old [west]: OVERDUE: last drill run-120 passed")
    assert fresh.startswith("fresh [west]: ok: last drill run-1 failed")
    assert "last pass 2 days ago" in fresh
