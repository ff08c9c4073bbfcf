"""The architecture checks as a step of the steady state (targets that have them: Azure)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from erdrill.core.outcomes import SteadyStateViolation
from erdrill.core.record import DrillRecord

__all__ = ["check_architecture"]


class _Review(Protocol):
    findings: list[str]
    notes: list[str]

    @property
    def critical(self) -> list[str]: ...


def check_architecture(target: Any, record: DrillRecord, save: Callable[[], Any]) -> list[str]:
    """Record the target's architecture findings and notes; fail on a critical one.

    A target without checks (the lab builds its own architecture) finds nothing.
    """
    checks: Callable[[], _Review] | None = getattr(target, "architecture", None)
    if checks is None:
        return []
    review = checks()
    record.findings.extend(f for f in review.findings if f not in record.findings)
    record.information.extend(n for n in review.notes if n not in record.information)
    save()
    if review.critical:
        raise SteadyStateViolation(
            "the deployment cannot fail over as designed: " + "; ".join(review.critical)
        )
    return review.findings
