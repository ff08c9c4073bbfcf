"""The drill's waits: one sleep that tests replace, and a progress line during long waits."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Pacer", "Sleep"]

Sleep = Callable[[float], None]


class Pacer:
    """Sleeps for the drill; `progress` (set by the caller) gets one updating status line."""

    def __init__(self, sleep: Sleep = time.sleep) -> None:
        self.sleep = sleep
        # called with one status line during long waits ("" clears it); None shows nothing
        self.progress: Callable[[str], None] | None = None
        self.status: Callable[[], str] = lambda: ""  # appended to the line (the probes' rates)

    def until(self, wall: float) -> None:
        """Sleep until the wall-clock instant `wall` (at once if it is past)."""
        self.sleep(max(0.0, wall - time.time()))

    def wait(self, seconds: float, what: str) -> None:
        """Sleep `seconds` while showing how long is left."""
        left = seconds
        while left > 0:  # counted down, not read off the clock: a replaced sleep ends it
            step = min(left, 0.5)
            self.sleep(step)
            left -= step
            self.show(f"{what}: {max(left, 0.0):.1f} s left")
        self.show("")

    def show(self, what: str) -> None:
        """One updating progress line (rate, replies, current gap) for long waits."""
        if self.progress is None:
            return
        if not what:
            self.progress("")
            return
        status = ""
        try:
            status = self.status()
        except Exception:  # a status that cannot be read must never stop a wait
            status = ""
        self.progress(f"{what} | {status}" if status else what)
