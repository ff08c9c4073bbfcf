"""Abort guard: a fault that does not move traffic to the VPN is undone at the abort limit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from erdrill.core import journal
from erdrill.core.errors import ConfigError
from erdrill.core.outcomes import Category, NoFailover, Outcome, Verdict
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN
from erdrill.core.settings import DrillSettings
from erdrill.drill.engine import Drill
from erdrill.lab.lab import Lab
from erdrill.targets.lab import LabTarget


def test_no_failover_restores_expressroute_at_the_abort_limit(
    healthy_lab: Lab, tmp_path: Path
) -> None:
    settings = DrillSettings(rate=50, sustain_s=0.5, abort_limit_s=2.0)
    d = Drill(
        LabTarget(healthy_lab), settings, drills_dir=tmp_path, state_dir=healthy_lab.state_dir
    )
    d.begin()
    d.start_probes()
    d.inject("vpn-down")  # leaves ExpressRoute up: traffic never reaches the VPN
    with pytest.raises(NoFailover, match="did not fail over"):
        d.await_paths(ON_VPN, 20.0, "failover")  # the scenario would wait 20 s
    # the guard acted on the abort limit, not on the scenario's window (an ordering, not a
    # timing bound: the window is ten times the limit)
    (guard,) = [f for f in d.record.findings if f.startswith("abort guard:")]
    assert "(scenario allows 20 s, abort limit 2 s)" in guard, guard
    assert float(re.search(r"at once, (\d+) s after", guard)[1]) < 20, guard  # type: ignore[index]
    # restored at once, before anyone called close()
    assert not d.fault_active and healthy_lab.active_faults() == []
    assert journal.open_entries(d.key, tmp_path) == []
    d.close(Outcome(Verdict.FAILED, Category.NO_FAILOVER, "no failover"))
    assert d.record.phase == "done" and d.record.verdict == "failed"
    assert healthy_lab.paths() == ON_EXPRESSROUTE


def test_an_unknown_fault_is_refused_before_anything_is_journaled(
    healthy_lab: Lab, tmp_path: Path
) -> None:
    d = Drill(LabTarget(healthy_lab), drills_dir=tmp_path, state_dir=healthy_lab.state_dir)
    d.begin()
    with pytest.raises(ConfigError, match="unknown fault kind 'cut-the-cable'; use one of "):
        d.inject("cut-the-cable")
    assert journal.open_entries(d.key, tmp_path) == [] and not d.fault_active
    d.close(Outcome(Verdict.ABORTED, Category.HARNESS_ERROR, "unknown fault"))
    assert healthy_lab.paths() == ON_EXPRESSROUTE
