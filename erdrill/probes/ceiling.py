"""The highest total probe rate a path carries with nothing lost: a search over rates.

`search_ceiling` doubles the rate from `start` until a try loses a probe (or the prober
cannot send as asked), then halves the gap between the last clean rate and the first lost
one until it is within `precision`. Each try is the caller's: probe at a total rate for a
few seconds and say what happened (`RateTry`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from erdrill.probes.prober import Prober
from erdrill.probes.samples import Outcome
from erdrill.probes.target import ProbeTarget

__all__ = ["RateTry", "probe_at", "search_ceiling"]

SEND_SHORTFALL = 0.95  # a try that sent less than this share of what it was asked is not clean


@dataclass(frozen=True, slots=True)
class RateTry:
    """One try: the total rate asked (probes/s), what was sent, lost and dropped."""

    total: int
    sent: int
    lost: int
    capture_drops: int
    seconds: float

    @property
    def clean(self) -> bool:
        """Nothing lost or dropped, and the prober kept up."""
        return (
            self.lost == 0
            and self.capture_drops == 0
            and self.sent >= self.total * self.seconds * SEND_SHORTFALL
        )

    def line(self) -> str:
        share = 100.0 * self.lost / self.sent if self.sent else 0.0
        return (
            f"{self.total:>7,} probes/s asked: {self.sent / self.seconds:>9,.0f}/s sent, "
            f"{self.lost} lost ({share:.2f} %), {self.capture_drops} capture drops"
        )


def probe_at(
    targets: Sequence[ProbeTarget], namespace: str | None, total: int, seconds: float = 3.0
) -> RateTry:
    """Probe `targets` (ICMP + TCP each) at `total` probes/s for `seconds`."""
    prober = Prober(targets, rate=total / (2 * len(targets)), namespace=namespace)
    with prober:
        time.sleep(seconds)
    samples = prober.samples
    lost = sum(1 for s in samples if s.outcome is not Outcome.REPLY)
    return RateTry(total, len(samples), lost, prober.snapshot().capture_drops, seconds)


def search_ceiling(
    try_rate: Callable[[int], RateTry],
    start: int = 1000,
    most: int = 200_000,
    precision: float = 0.05,
) -> tuple[int, list[RateTry]]:
    """The highest clean total rate found (0: not even `start`) and every try, in order."""
    tries: list[RateTry] = []
    good, bad = 0, None
    rate = start
    while rate <= most:
        tries.append(try_rate(rate))
        if not tries[-1].clean:
            bad = rate
            break
        good, rate = rate, rate * 2
    while bad is not None and good and (bad - good) > good * precision:
        mid = (good + bad) // 2
        tries.append(try_rate(mid))
        good, bad = (mid, bad) if tries[-1].clean else (good, mid)
    return good, tries
