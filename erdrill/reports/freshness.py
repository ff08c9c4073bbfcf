"""Drill freshness: per target, the last passing drill and the days since, from the history.

A target counts as drilled when a drill that injected a fault passed (steady-state checks
alone do not test the backup). Microsoft advises testing the VPN backup at least every
quarter, so a target without a passing drill within `DEFAULT_INTERVAL_DAYS` (90; override
with ``ERDRILL_DRILL_INTERVAL_DAYS`` or the ``interval_days`` argument) is overdue.
Targets are told apart as in `reports.findings.drilled_target`. A demonstration (a lab
misconfigured on purpose to show a finding: a scenario tagged @misconfigured, or a
topology with `demonstration: true`) is no target anyone must drill: it is left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from erdrill.core.errors import ConfigError
from erdrill.core.outcomes import Verdict
from erdrill.core.record import DrillRecord
from erdrill.reports.findings import DrilledTarget, drilled_target, target_label

__all__ = [
    "DEFAULT_INTERVAL_DAYS",
    "INTERVAL_ENV",
    "TargetFreshness",
    "drill_time",
    "freshness",
    "freshness_lines",
    "interval_days",
    "is_demonstration",
    "of_target",
]

DEFAULT_INTERVAL_DAYS = 90.0
INTERVAL_ENV = "ERDRILL_DRILL_INTERVAL_DAYS"


def interval_days(value: float | None = None, environ: Mapping[str, str] | None = None) -> float:
    """The drill interval: `value`, else $ERDRILL_DRILL_INTERVAL_DAYS, else 90 days."""
    if value is not None:
        days = float(value)
    else:
        raw = (os.environ if environ is None else environ).get(INTERVAL_ENV, "").strip()
        if not raw:
            return DEFAULT_INTERVAL_DAYS
        try:
            days = float(raw)
        except ValueError as exc:
            raise ConfigError(
                "environment", INTERVAL_ENV, f"{raw!r} is not a number of days"
            ) from exc
    if not days > 0:
        raise ConfigError("drill interval", "days", f"{days:g} must be more than 0")
    return days


def drill_time(record: DrillRecord) -> datetime | None:
    """When the drill finished (else started), in UTC; None if the record has no time."""
    for value in (record.finished_at, record.started_at):
        if value:
            try:
                at = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return at if at.tzinfo else at.replace(tzinfo=UTC)
    return None


@dataclass(frozen=True)
class TargetFreshness:
    """One target's last drill, last passing drill, days since it and whether it is overdue."""

    key: tuple[str, str, str, str]
    last_drill_at: datetime | None
    last_pass_run_id: str | None
    last_pass_at: datetime | None
    days_since_pass: float | None
    interval_days: float

    @property
    def label(self) -> str:
        return target_label(self.key)

    @property
    def overdue(self) -> bool:
        """No passing drill, or the last one is older than the interval."""
        return self.days_since_pass is None or self.days_since_pass > self.interval_days

    def text(self) -> str:
        """One line in words, e.g. for the terminal summary and the report."""
        limit = f"interval {self.interval_days:g} days"
        if self.last_pass_at is None or self.days_since_pass is None:
            return f"{self.label}: OVERDUE: no passing failover drill in the history ({limit})"
        when = self.last_pass_at.strftime("%Y-%m-%d")
        head = "OVERDUE: " if self.overdue else ""
        return (
            f"{self.label}: {head}last passing drill {self.last_pass_run_id} on {when}, "
            f"{self.days_since_pass:.0f} days ago ({limit})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "target": self.label,
            "last_drill_at": self.last_drill_at.isoformat() if self.last_drill_at else None,
            "last_pass_run_id": self.last_pass_run_id,
            "last_pass_at": self.last_pass_at.isoformat() if self.last_pass_at else None,
            "days_since_pass": self.days_since_pass,
            "interval_days": self.interval_days,
            "overdue": self.overdue,
        }


DEMONSTRATION_TAG = "misconfigured"  # features/steady_state.feature


def is_demonstration(record: DrillRecord) -> bool:
    """A drill of a lab built wrong on purpose (its record's tags or topology say so)."""
    return DEMONSTRATION_TAG in record.tags or record.labels.get("demonstration") == "yes"


def _passed_drill(record: DrillRecord) -> bool:
    return record.verdict == Verdict.PASSED and bool(record.fault)


def freshness(
    records: Iterable[DrillRecord],
    now: datetime | None = None,
    interval: float | None = None,
) -> list[TargetFreshness]:
    """Every target in `records` (oldest first, e.g. `reports.history.read`), by label,
    but demonstrations (a target any of whose drills is one)."""
    days = interval_days(interval)
    at = now or datetime.now(UTC)
    records = list(records)
    shows = {drilled_target(r) for r in records if is_demonstration(r)}
    records = [r for r in records if drilled_target(r) not in shows]
    last: dict[DrilledTarget, datetime | None] = {}
    passed: dict[DrilledTarget, tuple[str, datetime]] = {}
    for rec in records:
        key, when = drilled_target(rec), drill_time(rec)
        seen = last.get(key)
        last[key] = when if seen is None or (when is not None and when > seen) else seen
        if _passed_drill(rec) and when is not None:
            best = passed.get(key)
            if best is None or when >= best[1]:
                passed[key] = (rec.run_id, when)
    out = []
    for key, seen in last.items():
        best = passed.get(key)
        out.append(
            TargetFreshness(
                key=key,
                last_drill_at=seen,
                last_pass_run_id=best[0] if best else None,
                last_pass_at=best[1] if best else None,
                days_since_pass=(at - best[1]).total_seconds() / 86400 if best else None,
                interval_days=days,
            )
        )
    return sorted(out, key=lambda f: f.label)


def of_target(
    record: DrillRecord,
    records: Sequence[DrillRecord],
    now: datetime | None = None,
    interval: float | None = None,
) -> TargetFreshness | None:
    """The freshness of `record`'s target from `records` and `record` itself (None for a
    demonstration)."""
    key = drilled_target(record)
    mine = [r for r in records if drilled_target(r) == key and r.run_id != record.run_id]
    found = freshness([*mine, record], now, interval)
    return found[0] if found else None


def freshness_lines(entries: Sequence[TargetFreshness]) -> list[str]:
    """The overdue targets first, then the others, one line each."""
    return [f.text() for f in sorted(entries, key=lambda f: (not f.overdue, f.label))]
