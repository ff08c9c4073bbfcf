"""The drill's judgement of a transition from a path history: late is a figure over its
limit, never is "no failover" (pure: a watcher whose history is written, no thread)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from erdrill.core.outcomes import Category, LimitExceeded, NoFailover, outcome_of
from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN, PathPair
from erdrill.core.record import DrillRecord
from erdrill.core.settings import DrillSettings
from erdrill.drill.pacing import Pacer
from erdrill.drill.probing import Probing
from erdrill.drill.timeline import Timeline
from erdrill.drill.transitions import Transitions
from erdrill.drill.watch import PathWatcher
from erdrill.reports.findings import derive


class Still:
    """A target whose path the test writes into the watcher's history."""

    name = "still"
    path_poll_interval_s = 60.0

    def paths(self) -> PathPair:
        return ON_EXPRESSROUTE


def _transitions(history: list[tuple[float, PathPair]], fault_at: float) -> Transitions:
    settings = DrillSettings(rate=10, sustain_s=0.5, abort_limit_s=240.0)
    record = DrillRecord(run_id="r", target="still", started_at="2026-12-06T00:00:00+00:00")
    probing = Probing(Still(), settings)  # type: ignore[arg-type]
    probing.watcher = PathWatcher(Still())  # type: ignore[arg-type]
    probing.watcher.history = history
    timeline = Timeline(fault_requested=fault_at, fault_at=fault_at)
    return Transitions(record, settings, timeline, probing, Pacer(), lambda: Path("x"))


def test_a_failover_past_its_window_is_a_figure_over_its_limit() -> None:
    t0 = time.time() - 200.0  # BFD off, a silent blackhole: the hold timer, 157 s later
    tr = _transitions([(t0 - 5.0, ON_EXPRESSROUTE), (t0 + 157.3, ON_VPN)], t0)
    with pytest.raises(LimitExceeded) as exc:
        tr.await_paths(ON_VPN, 10.0, "failover", abort=lambda: None)
    text = str(exc.value)
    assert text.startswith("limit exceeded: failover took 157.3 s > window 10 s (147.3 s over)")
    assert outcome_of(exc.value).category is Category.LIMIT_EXCEEDED
    record = tr.record
    assert record.transitions["failover"]["reached_s"] == pytest.approx(157.3)
    assert tr.timeline.switched_at == pytest.approx(t0 + 157.3)
    record.failure_category = Category.LIMIT_EXCEEDED
    slugs = {d.spec.slug for d in derive(record)}
    assert "outage-over-limit" in slugs and "no-failover" not in slugs, slugs


def test_traffic_that_never_left_expressroute_is_no_failover_and_aborted() -> None:
    t0 = time.time() - 1.0
    tr = _transitions([(t0 - 5.0, ON_EXPRESSROUTE)], t0)
    tr.settings = DrillSettings(rate=10, sustain_s=0.5, abort_limit_s=1.5)
    aborted: list[bool] = []
    with pytest.raises(NoFailover, match="did not fail over: failover: traffic still"):
        tr.await_paths(ON_VPN, 10.0, "failover", abort=lambda: aborted.append(True))
    assert aborted == [True]
    assert outcome_of(NoFailover("x")).category is Category.NO_FAILOVER
    assert any(f.startswith("abort guard:") for f in tr.record.findings)
