"""The drill's fault while it is in place: journaled, injected, undone within the watchdog's
bound (else by the second path), and ExpressRoute waited for once it is undone."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from erdrill.core.faults import Fault, FaultLedger, FaultsNotUndone, applied
from erdrill.core.outcomes import RestoreFailed
from erdrill.core.paths import ON_EXPRESSROUTE, PathPair
from erdrill.core.record import DrillRecord
from erdrill.core.settings import DrillSettings
from erdrill.drill.pacing import Sleep
from erdrill.drill.signals import signals_deferred
from erdrill.drill.watchdog import Rescue, finished_within, take_second_path
from erdrill.targets.target import Target

__all__ = ["Injection"]


@dataclass
class Injection:
    """One drill's fault: in place between `apply` and `undo`; what the watchdog did."""

    target: Target
    settings: DrillSettings
    record: DrillRecord
    ledger: FaultLedger
    sleep: Sleep = time.sleep
    fault: Fault | None = field(default=None, init=False)
    rescue: Rescue | None = field(default=None, init=False)  # the watchdog's second path
    held: list[int] = field(default_factory=list, init=False)  # signals during an undo
    _applied: contextlib.ExitStack | None = field(default=None, init=False)

    @property
    def active(self) -> bool:
        """Whether the fault is in place (injected and not yet undone)."""
        return self._applied is not None

    def apply(
        self, fault: Fault, injecting: Callable[[Fault], None], undoing: Callable[[Fault], None]
    ) -> None:
        """Journal the fault durably and inject it; `injecting`/`undoing` stamp the instants."""
        self.fault = fault
        stack = contextlib.ExitStack()
        stack.enter_context(applied([fault], self.ledger, injecting=injecting, undoing=undoing))
        self._applied = stack

    def undo(self) -> None:
        """Undo the fault within the watchdog's bound, else by the second path."""
        stack, self._applied = self._applied, None
        if stack is None:
            return
        bound = self.settings.undo_timeout_s
        with signals_deferred() as held:  # an undo is never cut in half
            try:
                if not finished_within(stack.close, bound, "undo"):
                    self.rescue = take_second_path(
                        self.record,
                        self.ledger.key,
                        self.ledger.state_dir,
                        bound,
                        self.settings.restore_timeout_s,
                    )
            finally:
                self.held.extend(held)

    def put_back(self) -> list[str]:
        """Undo the fault if still in place and wait for ExpressRoute; what failed, if anything."""
        left_broken: list[str] = []
        try:
            self.undo()
        except FaultsNotUndone as exc:
            left_broken.extend(f"undo of {name} failed: {e}" for name, e in exc.failures)
        except Exception as exc:
            left_broken.append(f"undo of {self.record.fault} failed: {exc}")
        if self.fault is not None and not left_broken:
            try:
                self.wait_expressroute()
            except Exception as exc:
                left_broken.append(str(exc))
        return left_broken

    @property
    def rescued_paths(self) -> PathPair | None:
        """The paths the second path read, when it ran and could tell."""
        if self.rescue is None or self.rescue.paths is None:
            return None
        return PathPair.from_dict(self.rescue.paths)

    def wait_expressroute(self) -> None:
        rescued = self.rescued_paths
        if rescued is not None:
            # the first path's target may be stuck in this process: trust the fresh one
            if rescued != ON_EXPRESSROUTE:
                raise RestoreFailed(
                    f"ExpressRoute does not carry traffic after the second path: {rescued}"
                )
            return
        timeout = self.settings.restore_timeout_s
        deadline = time.monotonic() + timeout
        while (paths := self.target.paths()) != ON_EXPRESSROUTE:
            if time.monotonic() > deadline:
                raise RestoreFailed(
                    f"ExpressRoute does not carry traffic {timeout:.0f} s after the restore: {paths}"
                )
            self.sleep(0.1)
