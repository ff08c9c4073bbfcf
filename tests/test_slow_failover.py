"""A failover slower than its window (azure timers, BFD off, a silent blackhole) fails as a
limit exceeded, not "no failover", and is measured to the end: the record holds the real
figure (about the hold timer) and by how much the window was missed, and ExpressRoute
carries traffic again afterwards. Runs once: minutes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from drillrun import session_prefix
from labkit import extended_topology, running_lab

from erdrill.core.outcomes import LimitExceeded, outcome_of
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN
from erdrill.core.settings import DrillSettings
from erdrill.drill.engine import Drill
from erdrill.lab.lab import Lab
from erdrill.targets.lab import LabTarget

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hold_timer_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    body = "profile: azure\nbfd:\n  enabled: false\n"
    folder = tmp_path_factory.mktemp("hold-timer")
    with running_lab(extended_topology(folder, session_prefix("erd-hold"), body), 60) as lab:
        yield lab


def test_a_failover_left_to_the_hold_timer_is_measured_past_its_window(
    hold_timer_lab: Lab, tmp_path: Path
) -> None:
    settings = DrillSettings(rate=20, sustain_s=1.0, abort_limit_s=240.0, restore_timeout_s=120.0)
    d = Drill(
        LabTarget(hold_timer_lab), settings, drills_dir=tmp_path, state_dir=hold_timer_lab.state_dir
    )
    d.begin()
    d.start_probes()
    d.inject("provider-blackhole")
    with pytest.raises(
        LimitExceeded, match=r"only \d+\.\d s after the failover took effect"
    ) as exc:
        d.await_paths(ON_VPN, 10.0, "failover")
    assert d.fault_active, "the fault stayed in place past the window"
    d.close(outcome_of(exc.value))
    rec = d.record
    reached = rec.transitions["failover"]["reached_s"]
    assert 60.0 < reached < 200.0, rec.transitions  # the hold timer (180 s), not BFD
    assert rec.failover is not None and rec.failover.outage_ms is not None
    assert rec.failover.outage_ms > 55_000, rec.failover
    assert any(
        f.startswith("limit exceeded: failover took") and "> window 10 s" in f for f in rec.findings
    ), rec.findings
    assert rec.verdict == "failed" and rec.failure_category == "limit-exceeded"
    assert hold_timer_lab.paths() == ON_EXPRESSROUTE
