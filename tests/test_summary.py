"""The terminal summary: one or two lines per drill naming its scenario, readable at 80
columns and within 100; a steady-state drill says what it checked and that it held."""

from __future__ import annotations

import re
from typing import Any

import pytest

from erdrill.core.record import DrillRecord, PathsAt, TransitionFigures
from erdrill.reports.summary import render_summary

OUTLINE = "provider-blackhole: traffic moves to the VPN and comes back"
PLAN = "The documented test plan: the provider stops ExpressRoute, then restores it"
STEADY = "Both directions use ExpressRoute and both paths know the same prefixes"
ER_BOTH = PathsAt(forward="expressroute", **{"return": "expressroute"})


def _drill(run_id: str, scenario: str, **extra: Any) -> DrillRecord:
    fields: dict[str, Any] = {
        "run_id": f"20261206T2019{run_id}Z-a1b2c3",
        "target": "lab",
        "scenario": scenario,
        "started_at": "2026-12-06T20:19:00Z",
        "verdict": "passed",
        "phase": "done",
        "sampling_interval_ms": 5.0,
        "limits": {"failover_outage_ms": 2000.0, "failback_outage_ms": 1000.0},
    }
    return DrillRecord(**(fields | extra))


def _transitions() -> dict[str, TransitionFigures]:
    failover = {"loss_derived_ms": 812, "outage_ms": 815, "first_route_ms": 790, "lost": 163}
    return {
        "failover": TransitionFigures.model_validate(failover | {"sent": 12000, "recovered": 1}),
        "failback": TransitionFigures(outage_ms=0.0, sent=9000, lost=0, recovered=True),
    }


def _run() -> list[DrillRecord]:
    row = {"fault": "provider-blackhole", "path during": "the VPN", "failover within": "10"}
    return [
        _drill("00", OUTLINE, fault="provider-blackhole", example=row, **_transitions()),
        _drill("01", PLAN, fault="provider-link-down", **_transitions()),
        _drill(
            "02",
            STEADY,
            checks=["BGP is established", "traffic flows", "same prefixes"],
            paths={"before": ER_BOTH},
        ),
    ]


def _lines_holding(text: str, phrase: str) -> int:
    """The fewest consecutive lines it takes to read `phrase` in `text` (0: not there)."""
    lines = text.splitlines()
    for n in range(1, 4):
        for start in range(len(lines)):
            joined = " ".join(s.strip() for s in lines[start : start + n])
            if phrase in re.sub(r"\s+", " ", joined):
                return n
    return 0


@pytest.mark.parametrize("width", [80, 100])
def test_each_drill_reads_as_its_title_then_run_target_and_verdict(width: int) -> None:
    text = render_summary(_run(), width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    for title in (OUTLINE, PLAN, STEADY):
        assert 1 <= _lines_holding(text, title) <= 2, text
    assert _lines_holding(text, "20261206T201900Z-a1b2c3 · lab · provider-blackhole · passed")
    assert "815 <= 2000" in text and "163/12000" in text, text


def test_a_steady_state_drill_says_what_it_checked_and_that_it_held() -> None:
    text = render_summary(_run()[2:], width=100)
    assert "no figures" not in text and "stopped in phase" not in text
    assert "steady state held: 3 checks, no fault; forward and return on expressroute" in text


def test_a_demonstration_says_what_the_check_caught() -> None:
    found = "asymmetric routing: the forward direction leaves over vpn"
    rec = _drill("03", "On-premises preferring the VPN is caught", tags=["misconfigured"],
                 findings=[found])  # fmt: skip
    text = render_summary([rec], width=100)
    assert "no figures" not in text
    assert _lines_holding(text, f"demonstration: the steady-state check caught {found}")


def test_a_drill_that_stopped_early_still_says_why() -> None:
    rec = _drill("04", PLAN, fault="provider-link-down", verdict="aborted", phase="failover",
                 message="lab build failed")  # fmt: skip
    assert "lab build failed" in render_summary([rec])


def test_a_demonstration_with_many_findings_names_the_first_and_counts_the_rest() -> None:
    found = ["asymmetric routing: the return direction", "more-specific prefixes", "no backup"]
    rec = _drill("05", "More-specific prefixes", tags=["misconfigured"], findings=found)
    text = render_summary([rec], width=100)
    assert _lines_holding(text, f"caught {found[0]} (and 2 more findings)")
    assert "no backup" not in text
