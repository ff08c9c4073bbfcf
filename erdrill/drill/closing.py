"""How a drill's verdict settles at its close: the outcome, the signals that came, the undo."""

from __future__ import annotations

from erdrill.core.outcomes import Category, Outcome, Phase, RestoreFailed, Verdict
from erdrill.core.record import DrillRecord
from erdrill.drill.signals import signal_name

__all__ = ["report_failed", "restore_failed", "settle_verdict"]


def settle_verdict(
    record: DrillRecord,
    outcome: Outcome,
    held: list[int],
    left_broken: list[str],
    aborted_in: Phase,
    finished_at: str,
) -> None:
    """Write the verdict: a signal while closing aborts the drill, a failed undo fails it.

    An aborted drill's record keeps the phase it was aborted in; any other goes to `report`.
    """
    verdict, category, message = outcome.verdict, outcome.category, outcome.message
    if held and verdict != Verdict.ABORTED:
        had = f"{verdict}: {message}" if message else verdict
        message = f"interrupted by {signal_name(held[0])} while closing (the drill had {had})"
        verdict, category = Verdict.ABORTED, Category.INTERRUPTED
    record.verdict = verdict
    record.message = message
    record.failure_category = category
    if left_broken:
        record.findings.extend(left_broken)
        record.verdict = Verdict.ABORTED if verdict == Verdict.ABORTED else Verdict.FAILED
        record.failure_category = Category.NOT_RESTORED
    record.finished_at = finished_at
    record.phase = aborted_in if record.verdict == Verdict.ABORTED else Phase.REPORT


def report_failed(record: DrillRecord, exc: BaseException) -> None:
    """Writing the report failed or was interrupted: the drill is aborted, saying what it had."""
    how = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
    record.message = (
        f"{how} while writing the report ({exc or type(exc).__name__}); "
        f"the drill had {record.verdict}" + (f": {record.message}" if record.message else "")
    )
    record.verdict = Verdict.ABORTED
    record.failure_category = (
        Category.INTERRUPTED if how == "interrupted" else Category.HARNESS_ERROR
    )


def restore_failed(left_broken: list[str], run_id: str) -> RestoreFailed:
    """The error that says ExpressRoute is not back, and how to put it back by hand."""
    return RestoreFailed(
        "ExpressRoute is NOT restored: "
        + "; ".join(left_broken)
        + f" (drill {run_id}; fix by hand or run `erdrill lab restore`)"
    )
