"""Interrupt the drill at every phase with SIGINT, SIGTERM and SIGHUP (issue 7).

Each case runs the documented test plan (`pytest features/ -k documented`) against this
module's own lab, pauses it in one phase (the ERDRILL_PAUSE_AT_PHASE test hook), signals
the pytest process and checks: exit code ABORTED, ExpressRoute carries traffic both ways,
no fault in the journal, one valid drill record saying `aborted` in that phase with what
was measured so far. The lab is kept between cases (--keep-lab) except for the last case,
which must leave no namespace and no daemon behind.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from drillrun import (
    DOCUMENTED_PLAN,
    Workspace,
    finish,
    output,
    records,
    session_prefix,
    wait_paused,
)

from erdrill.core.exitcodes import ExitCode
from erdrill.core.paths import ON_EXPRESSROUTE
from erdrill.core.record import DrillRecord

# "before the fault" is probing (probes run, nothing injected); "during failover" is just
# after the fault was injected; "during report writing" is the report phase.
PHASES = ["probing", "failover", "on-vpn", "restore", "failback", "report"]
SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
CASES = [(sig, phase) for sig in SIGNALS for phase in PHASES]
AFTER_FAULT = PHASES[1:]


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    w = Workspace(tmp_path_factory.mktemp("interrupts"), session_prefix("erd-int"))
    yield w
    w.lab.down()


@pytest.mark.parametrize(("sig", "phase"), CASES, ids=[f"{s.name}-{p}" for s, p in CASES])
def test_interrupt_undoes_the_fault_and_records_the_phase(
    ws: Workspace, sig: signal.Signals, phase: str
) -> None:
    keep = (sig, phase) != CASES[-1]  # the last case takes the lab down
    drills = ws.root / f"{sig.name}-{phase}"
    proc = ws.start(DOCUMENTED_PLAN, drills, pause_at=phase, keep_lab=keep)
    wait_paused(proc, drills, phase)
    os.kill(proc.pid, sig)
    code = finish(proc, drills)
    log = output(drills)
    assert code == ExitCode.ABORTED, log[-3000:]

    [raw] = records(drills)
    record = DrillRecord.model_validate(raw)
    assert (record.verdict, record.phase, record.failure_category) == (
        "aborted",
        phase,
        "interrupted",
    ), log[-3000:]
    assert sig.name in record.message
    assert record.finished_at is not None
    if phase in AFTER_FAULT:  # what was measured before the signal is kept
        assert record.fault == "provider-link-down"
        assert [e["kind"] for e in record.events][:1] == ["fault"]
        assert record.failover is not None and record.failover.sent > 0
        assert record.paths["after"].forward == "expressroute"
    else:
        assert record.fault is None and not record.events
    if phase in ("failback", "report"):
        assert record.failback is not None and record.failback.sent > 0

    assert ws.open_faults() == []
    if keep:
        assert ws.lab.paths() == ON_EXPRESSROUTE
    else:
        assert ws.leftovers() == []
    assert not list(Path(drills).glob("*/paused"))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_to_the_whole_process_group_keeps_the_figures(
    ws: Workspace, sig: signal.Signals
) -> None:
    """A scheduler stopping the drill signals every process of the group (systemd's
    KillMode=control-group): the probes must survive to hand their figures to the drill."""
    drills = ws.root / f"group-{sig.name}"
    proc = ws.start(DOCUMENTED_PLAN, drills, pause_at="on-vpn", keep_lab=True)
    wait_paused(proc, drills, "on-vpn")
    os.killpg(proc.pid, sig)
    assert finish(proc, drills) == ExitCode.ABORTED, output(drills)[-3000:]
    [raw] = records(drills)
    record = DrillRecord.model_validate(raw)
    assert (record.verdict, record.phase) == ("aborted", "on-vpn")
    assert record.failover is not None and record.failover.sent > 0
    assert record.failover.outage_ms is not None
    assert ws.open_faults() == []
    assert ws.lab.paths() == ON_EXPRESSROUTE
