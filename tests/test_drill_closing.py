"""How a drill's verdict settles at its close, and its waits through one replaceable sleep
(pure: drill.closing and drill.pacing, no target)."""

from __future__ import annotations

import signal

import pytest

from erdrill.core.outcomes import Category, Outcome, Phase, Verdict
from erdrill.core.record import DrillRecord
from erdrill.drill.closing import report_failed, settle_verdict
from erdrill.drill.pacing import Pacer


def _record(phase: Phase = Phase.ON_VPN) -> DrillRecord:
    return DrillRecord(run_id="r", target="t", started_at="2026-12-06T00:00:00+00:00", phase=phase)


def test_a_passed_drill_goes_to_report() -> None:
    rec = _record()
    settle_verdict(rec, Outcome(Verdict.PASSED), [], [], Phase.ON_VPN, "end")
    assert (rec.verdict, rec.failure_category, rec.phase) == ("passed", None, "report")
    assert rec.finished_at == "end"


def test_a_signal_while_closing_aborts_and_keeps_what_the_drill_had() -> None:
    rec = _record()
    failed = Outcome(Verdict.FAILED, Category.LIMIT_EXCEEDED, "limit exceeded: x")
    settle_verdict(rec, failed, [signal.SIGTERM], [], Phase.ON_VPN, "end")
    assert rec.verdict == "aborted" and rec.failure_category == "interrupted"
    assert rec.message == (
        "interrupted by SIGTERM while closing (the drill had failed: limit exceeded: x)"
    )
    assert rec.phase == "on-vpn"  # an aborted drill keeps the phase it was aborted in


def test_a_failed_undo_fails_the_drill_as_not_restored_with_each_failure() -> None:
    rec = _record(Phase.RESTORE)
    broken = ["undo of circuit-down failed: nft: busy"]
    settle_verdict(rec, Outcome(Verdict.PASSED), [], broken, Phase.RESTORE, "end")
    assert (rec.verdict, rec.failure_category) == ("failed", "not-restored")
    assert rec.findings == broken and rec.phase == "report"


def test_a_report_that_fails_aborts_the_drill_saying_what_it_had() -> None:
    rec = _record()
    settle_verdict(rec, Outcome(Verdict.PASSED), [], [], Phase.ON_VPN, "end")
    report_failed(rec, OSError("disk full"))
    assert (rec.verdict, rec.failure_category) == ("aborted", "harness-error")
    assert rec.message == "failed while writing the report (disk full); the drill had passed"


def test_the_drills_waits_go_through_one_sleep_a_test_replaces() -> None:
    slept: list[float] = []
    lines: list[str] = []
    pacer = Pacer(sleep=slept.append)
    pacer.progress = lines.append
    pacer.status = lambda: "200/s"
    pacer.wait(1.2, "holding")
    assert slept == pytest.approx([0.5, 0.5, 0.2])  # counted down, not read off a clock
    assert lines[0] == "holding: 0.7 s left | 200/s" and lines[-1] == ""
    pacer.until(0.0)  # long past: no wait
    assert slept[-1] == 0.0
