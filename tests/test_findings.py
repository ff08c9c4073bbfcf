"""Findings with actions, drill freshness and the figures at a glance (issue 13).

Real files in tmp_path: the drill history is written by `reports.history.append` and read
back; the Allure identity check runs a tiny pytest-bdd drill twice through the real
allure-pytest-bdd plugin and reads its result files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import allure_commons
import pytest
from reportkit import allure_plugin, run_inner_pytest

from erdrill.core.errors import ConfigError
from erdrill.core.paths import PathKind, PathPair
from erdrill.core.record import (
    DrillRecord,
    PathsAt,
    RouteSpecific,
    SessionResult,
    TransitionFigures,
)
from erdrill.drill.steady_state import ProblemKind, steady_state_problems
from erdrill.reports import allure_results as ar
from erdrill.reports import findings, freshness, history, integrity
from erdrill.reports.describe import drill_description_html, figures_lines, run_summary_text
from erdrill.targets.target import Health

REPO = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ER, VPN = PathKind.EXPRESSROUTE, PathKind.VPN
ASYM = (
    "asymmetric routing: the forward direction (on-premises to Azure) uses vpn while the "
    "other uses expressroute"
)
LABELS = {"topology": "reference", "lab prefix": "erd-lab", "timer profile": "fast"}


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds")


def drill(run_id: str, at: datetime = NOW, **extra: Any) -> DrillRecord:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "target": "lab",
        "fault": "provider-link-down",
        "scenario": "The documented test plan",
        "started_at": _iso(at - timedelta(seconds=20)),
        "finished_at": _iso(at),
        "verdict": "passed",
        "sampling_interval_ms": 5.0,
        "labels": dict(LABELS),
        "limits": {"outage_ms": 1000.0, "failback_outage_ms": 3000.0},
        "failover": TransitionFigures(
            loss_derived_ms=250.0, outage_ms=254.6, sent=2000, lost=50, recovered=True
        ),
        "failback": TransitionFigures(
            loss_derived_ms=0.0, outage_ms=0.0, sent=2000, lost=0, recovered=True
        ),
        "paths": {
            "before": PathsAt(forward="expressroute", **{"return": "expressroute"}),
            "during": PathsAt(forward="vpn", **{"return": "vpn"}),
            "after": PathsAt(forward="expressroute", **{"return": "expressroute"}),
        },
    }
    fields.update(extra)
    return DrillRecord(**fields)


def entries(path: Path) -> list[dict[str, Any]]:
    return [integrity.strip_chain(obj) for _, obj in history.read_lines(path)]


def record_and_assess(record: DrillRecord, path: Path) -> findings.Assessment:
    """What erdrill.pytest_reports does per scenario: assess against the history, then append."""
    assessment = findings.assess(record, entries(path))
    history.append(record, path, extra=assessment.history_fields())
    return assessment


# --- the catalogue ------------------------------------------------------------------------


def test_every_steady_state_problem_maps_to_its_catalogue_entry() -> None:
    learned = {"azure": {"expressroute": ["10.0.0.0/16"], "vpn": ["10.0.0.0/17"]}}
    cases = [
        Health({"msee": "idle"}, "down", PathPair(VPN, ER)),
        Health({}, "up", PathPair(VPN, VPN)),
    ]
    kinds: set[str] = set()
    for health in cases:
        for problem in steady_state_problems(health, learned):
            spec = findings.classify(problem.text)
            assert spec.slug == problem.kind.value, problem.text
            kinds.add(spec.slug)
    assert kinds == {k.value for k in ProblemKind}
    ids = [s.id for s in findings.CATALOGUE.values()]
    assert len(ids) == len(set(ids))
    for spec in findings.CATALOGUE.values():
        assert spec.severity in findings.Severity and spec.title and spec.action


def test_engine_findings_and_categories_become_findings() -> None:
    rec = drill(
        "r-fail",
        verdict="failed",
        failure_category="no-failover",
        findings=[
            "did not fail over: failover: traffic still expressroute 10.0 s after ...",
            "abort guard: restored ExpressRoute at once, 10 s after the fault",
            "watchdog: the undo of provider-link-down did not finish within 30 s",
        ],
    )
    assert [d.spec.id for d in findings.derive(rec)] == [
        "ERD-FAILOVER-001",
        "ERD-WATCHDOG-001",
        "ERD-ABORT-001",
    ]
    over = drill("r-limit", verdict="failed", failure_category="limit-exceeded")
    assert [d.spec.id for d in findings.derive(over)] == ["ERD-LIMIT-001"]
    gone = drill("r-nr", verdict="failed", failure_category="not-restored")
    assert findings.derive(gone)[0].spec.id == "ERD-RESTORE-001"


def test_an_outage_of_about_the_hold_timer_means_bfd_did_not_detect() -> None:
    slow = drill("r-bfd", failover=TransitionFigures(outage_ms=2900.0, recovered=True))
    (found,) = findings.derive(slow)
    assert found.spec.id == "ERD-BFD-001" and "hold time of 3000 ms" in found.details[0]
    assert findings.derive(drill("r-ok")) == []
    # the Azure profile's hold time is 180 s: 2.9 s there is BFD at work
    azure = drill(
        "r-az",
        labels={**LABELS, "timer profile": "azure"},
        failover=TransitionFigures(outage_ms=2900.0, recovered=True),
    )
    assert findings.derive(azure) == []


# --- findings in the report and in the history --------------------------------------------


class DescriptionRecorder:
    """An allure_commons plugin that keeps the HTML descriptions handed to Allure."""

    def __init__(self) -> None:
        self.html: list[str] = []
        self.parameters: list[str] = []

    @allure_commons.hookimpl
    def add_description_html(self, test_description_html: str) -> None:
        self.html.append(test_description_html)

    @allure_commons.hookimpl
    def add_parameter(self, name: str, value: Any, excluded: Any, mode: Any) -> None:
        self.parameters.append(name)


@pytest.fixture
def described() -> Iterator[DescriptionRecorder]:
    with allure_plugin(DescriptionRecorder()) as rec:
        yield rec


def test_a_finding_shows_its_action_and_a_later_clean_drill_marks_it_fixed(
    tmp_path: Path, described: DescriptionRecorder
) -> None:
    path = tmp_path / "history" / "drills.jsonl"
    first = drill("r1", NOW - timedelta(days=2), findings=[ASYM])
    a1 = record_and_assess(first, path)
    assert [(d.spec.id, d.status) for d in a1.findings] == [("ERD-ASYM-001", "new")]
    ar.describe_html(drill_description_html(first, a1))
    page = described.html[-1]
    spec = findings.CATALOGUE["ERD-ASYM-001"]
    assert "ERD-ASYM-001" in page and "[major, new]" in page
    assert "Action: " + spec.action.replace("'", "&#x27;") in page
    assert "asymmetric routing: the forward direction" in page

    again = record_and_assess(drill("r2", NOW - timedelta(days=1), findings=[ASYM]), path)
    assert [(d.spec.id, d.status) for d in again.findings] == [("ERD-ASYM-001", "recurring")]

    clean = drill("r3", NOW)
    a3 = record_and_assess(clean, path)
    assert a3.findings == [] and a3.previous_run_id == "r2"
    assert [d.spec.id for d in a3.fixed] == ["ERD-ASYM-001"]
    page = drill_description_html(clean, a3)
    assert "Findings: none (compared with drill r2)" in page
    assert "Fixed since the previous drill: ERD-ASYM-001 (Asymmetric routing" in page
    assert "fixed ERD-ASYM-001" in run_summary_text([(clean, a3)])

    lines = [obj for _, obj in history.read_lines(path)]
    assert [ln["finding_ids"] for ln in lines] == [["ERD-ASYM-001"], ["ERD-ASYM-001"], []]
    changes: list[Any] = [ln["finding_changes"] for ln in lines]
    assert changes[1]["recurring"] == ["ERD-ASYM-001"]
    assert changes[2] == {
        "previous_run_id": "r2",
        "new": [],
        "recurring": [],
        "fixed": ["ERD-ASYM-001"],
    }
    report = integrity.verify_history(path)
    assert report.ok, report.lines()  # the added fields are inside the hash chain
    assert [r.run_id for r in history.read(path)] == ["r1", "r2", "r3"]


def test_findings_compare_only_with_the_same_target_and_fault(tmp_path: Path) -> None:
    path = tmp_path / "drills.jsonl"
    record_and_assess(drill("a1", findings=[ASYM]), path)
    other_lab = drill("b1", labels={**LABELS, "lab prefix": "erd-other"})
    assert findings.assess(other_lab, entries(path)).previous_run_id is None
    other_fault = drill("c1", fault="vpn-down")
    assert findings.assess(other_fault, entries(path)).fixed == []
    # a line written before finding ids were kept: its ids come from its record
    history.append(drill("a2", findings=[ASYM]), path)
    later = findings.assess(drill("a3", findings=[ASYM]), entries(path))
    assert later.previous_run_id == "a2" and later.findings[0].status == "recurring"


# --- freshness ----------------------------------------------------------------------------


def test_a_target_whose_last_passing_drill_is_older_than_the_interval_is_flagged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "drills.jsonl"
    history.append(drill("old-pass", NOW - timedelta(days=120)), path)
    history.append(drill("old-fail", NOW - timedelta(days=10), verdict="failed"), path)
    fresh_labels = {**LABELS, "lab prefix": "erd-fresh"}
    history.append(drill("new-pass", NOW - timedelta(days=5), labels=fresh_labels), path)
    steady = {**LABELS, "lab prefix": "erd-miscfg"}
    history.append(drill("steady", NOW, fault=None, failover=None, labels=steady), path)

    by_prefix = {f.key[2]: f for f in freshness.freshness(history.read(path), NOW)}
    stale = by_prefix["erd-lab"]
    assert stale.overdue and stale.last_pass_run_id == "old-pass"
    assert stale.days_since_pass == pytest.approx(120.0)
    assert "OVERDUE: last passing drill old-pass on 2026-08-03, 120 days ago" in stale.text()
    assert "(interval 90 days)" in stale.text()
    assert not by_prefix["erd-fresh"].overdue
    never = by_prefix["erd-miscfg"]  # steady-state checks do not test the backup
    assert never.overdue and "no passing failover drill" in never.text()
    lines = freshness.freshness_lines(list(by_prefix.values()))
    assert "OVERDUE" in lines[0] and "OVERDUE" in lines[1] and "OVERDUE" not in lines[2]

    longer = freshness.freshness(history.read(path), NOW, interval=180)
    assert not {f.key[2]: f for f in longer}["erd-lab"].overdue


def test_the_interval_comes_from_the_argument_the_environment_or_the_default() -> None:
    assert freshness.interval_days(environ={}) == 90.0
    assert freshness.interval_days(environ={"ERDRILL_DRILL_INTERVAL_DAYS": "30"}) == 30.0
    assert freshness.interval_days(7, environ={"ERDRILL_DRILL_INTERVAL_DAYS": "30"}) == 7.0
    with pytest.raises(ConfigError, match="ERDRILL_DRILL_INTERVAL_DAYS"):
        freshness.interval_days(environ={"ERDRILL_DRILL_INTERVAL_DAYS": "quarterly"})


def test_freshness_of_a_drill_counts_the_drill_itself() -> None:
    old = drill("p0", NOW - timedelta(days=200))
    fresh = freshness.of_target(drill("p1", NOW), [old], NOW)
    assert not fresh.overdue and fresh.last_pass_run_id == "p1"
    assert "last passing drill p1 on 2026-12-01, 0 days ago" in drill_description_html(
        drill("p1", NOW), None, fresh
    )


# --- the figures at a glance ----------------------------------------------------------------


def test_the_description_states_outage_limit_and_margin_as_text() -> None:
    rec = drill(
        "r-late",
        verdict="failed",
        failure_category="limit-exceeded",
        failover=TransitionFigures(
            loss_derived_ms=2350.0, outage_ms=2351.0, sent=1000, lost=470, recovered=True
        ),
    )
    lines = figures_lines(rec)
    assert "failover outage 2351 ms (outage_ms), limit 1000 ms: MISSED by 1351 ms" in lines
    assert "failover loss-derived 2350 ms (loss_derived_ms), no limit" in lines
    assert "failback outage 0 ms (outage_ms), limit 3000 ms: met by 3000 ms" in lines
    page = drill_description_html(rec, findings.assess(rec, []))
    assert "<td>outage_ms</td><td>2351 ms</td><td>1000 ms</td><td>MISSED by 1351 ms</td>" in page
    for text in (
        "before: forward expressroute, return expressroute",
        "during: forward vpn, return vpn",
        "after: forward expressroute, return expressroute",
        "ERD-LIMIT-001",
        "Verdict: <b>failed (limit-exceeded)",
    ):
        assert text in page, text


FEATURE = """\
Feature: Identity drill
  Figures go in the description, never in the history id.

  Scenario: The provider stops ExpressRoute
    Given a drill measured its failover
"""

STEPS = """\
import os

from pytest_bdd import given, scenarios

from erdrill.core.record import DrillRecord, TransitionFigures
from erdrill.reports import allure_results as ar
from erdrill.reports.describe import drill_description_html

scenarios("drill.feature")


@given("a drill measured its failover")
def measured():
    outage = float(os.environ["DRILL_TEST_OUTAGE"])
    rec = DrillRecord(run_id="r-" + os.environ["DRILL_TEST_OUTAGE"], target="lab",
                      fault="provider-link-down", started_at="2026-12-01T00:00:00Z",
                      verdict="passed", limits={"outage_ms": 1000.0},
                      failover=TransitionFigures(outage_ms=outage, loss_derived_ms=outage,
                                                 recovered=True))
    ar.describe_drill(target="lab", fault="provider-link-down", probe_rate=200,
                      limits=rec.limits)
    ar.describe_html(drill_description_html(rec))
"""


def _run_identity_drill(work: Path, outage: float) -> dict[str, Any]:
    results = work / f"results-{outage:g}"
    proc = run_inner_pytest(
        work,
        results,
        {
            "DRILL_TEST_OUTAGE": f"{outage:g}",
        },
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (result,) = [json.loads(p.read_text()) for p in results.glob("*-result.json")]
    return dict(result)


def test_figures_in_the_description_leave_the_allure_history_id_alone(tmp_path: Path) -> None:
    (tmp_path / "drill.feature").write_text(FEATURE)
    (tmp_path / "test_identity.py").write_text(STEPS)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    fast, slow = _run_identity_drill(tmp_path, 254.6), _run_identity_drill(tmp_path, 1800.0)
    assert fast["historyId"] == slow["historyId"] and fast["testCaseId"] == slow["testCaseId"]
    assert (
        "failover outage 255 ms (outage_ms), limit 1000 ms: met by 745 ms"
        in (fast["descriptionHtml"])
    )
    assert "MISSED by 800 ms" in slow["descriptionHtml"]
    for result in (fast, slow):
        shown = json.dumps(result.get("parameters", []))
        assert "254.6" not in shown and "1800" not in shown and "255" not in shown
        assert all(p.get("excluded") for p in result.get("parameters", [])), shown


def _session(name: str, end: str, phase: str | None, **extra: Any) -> SessionResult:
    fields: dict[str, Any] = {
        "name": name,
        "address": "10.1.1.4",
        "port": 443,
        "end": end,
        "phase": phase,
        "interval_ms": 50.0,
        "stall_ms": 212.0,
        "messages_sent": 80,
        "messages_echoed": 80,
    }
    fields.update(extra)
    return SessionResult.model_validate(fields)


def test_sessions_that_broke_become_findings_and_show_in_the_description() -> None:
    rec = drill("s1")
    rec.sessions = [
        _session("workload#1", "survived", None),
        _session(
            "workload#2",
            "timeout",
            "failover",
            reason="sent data unacknowledged past the user timeout (ETIMEDOUT)",
            stall_ms=3000.0,
            messages_echoed=40,
        ),
    ]
    detected = {d.spec.id: d for d in findings.derive(rec)}
    assert set(detected) == {"ERD-SESSION-001"}
    (detail,) = detected["ERD-SESSION-001"].details
    assert "workload#2" in detail and "timeout in the failover" in detail
    assert "stalled 3000 ms" in detail and "40/80" in detail
    assert "symmetric" in detected["ERD-SESSION-001"].spec.action
    html = drill_description_html(rec, findings.assess(rec, []))
    assert "workload#1 to 10.1.1.4:443: survived, longest stall 212 ms" in html
    assert "workload#2 to 10.1.1.4:443: BROKEN (timeout) in the failover" in html
    assert "ERD-SESSION-001" in html
    text = run_summary_text([(rec, None)])
    assert "session workload#2 to 10.1.1.4:443: BROKEN" in text


def test_a_session_that_never_opened_is_a_steady_state_finding() -> None:
    rec = drill("s2")
    rec.sessions = [
        _session(
            "workload#1",
            "not-opened",
            "steady-state",
            reason="no connection in 3 s",
            stall_ms=None,
            messages_sent=0,
            messages_echoed=0,
        )
    ]
    assert [d.spec.id for d in findings.derive(rec)] == ["ERD-SESSION-002"]
    rec.sessions = [_session("workload#1", "survived", None)]
    assert findings.derive(rec) == []


def test_route_specific_figures_show_in_the_description() -> None:
    rs: dict[str, Any] = {
        "flows": 2,
        "loss_derived_min_ms": 4.0,
        "loss_derived_max_ms": 9.0,
        "outage_min_ms": 5.0,
        "outage_max_ms": 11.0,
        "fastest": "10.1.1.4/icmp",
        "slowest": "10.1.1.4/tcp",
    }
    one = {**rs, "flows": 1, "loss_derived_min_ms": 9.0, "outage_min_ms": 11.0}
    rec = drill("s3")
    assert rec.failover is not None
    rec.failover = rec.failover.model_copy(
        update={
            "route_specific": {
                "all": RouteSpecific.model_validate(rs),
                "tcp": RouteSpecific.model_validate(one),
            }
        }
    )
    html = drill_description_html(rec)
    assert (
        "failover route-specific all (2 flows): loss-derived min 4 ms (10.1.1.4/icmp), "
        "max 9 ms (10.1.1.4/tcp); outage 5-11 ms" in html
    )
    assert "failover route-specific tcp (1 flow): loss-derived 9 ms; outage 11-11 ms" in html
    rec.failover = rec.failover.model_copy(
        update={
            "route_specific": {
                "all": RouteSpecific.model_validate(rs),
                "10.1.1.4": RouteSpecific.model_validate(rs),
            }
        }
    )
    assert "route-specific 10.1.1.4" not in drill_description_html(rec)  # the same as all


def test_the_summary_table_counts_the_sessions_kept() -> None:
    from erdrill.reports.summary import render_summary

    rec = drill("s4")
    assert "sessions" not in render_summary([rec], width=160)
    rec.sessions = [_session("workload#1", "survived", None), _session("w#2", "reset", "failover")]
    assert "1/2" in render_summary([rec], width=160)
