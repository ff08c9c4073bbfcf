"""A fault: something you inject into the network and undo, whatever happens in between.

Chaos Toolkit's split of an action and its rollback, as one object. Every target (the
lab, Azure) resolves a fault name to a `Fault` once, before anything is journaled; the
drill applies it with `applied`, which journals it durably, injects it, yields, and
undoes it in `finally`, clearing the journal entry only once the undo returned.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from erdrill.core import journal
from erdrill.core.errors import ConfigError, ErdrillError

__all__ = ["Fault", "FaultLedger", "FaultsNotUndone", "applied", "undo_every", "unknown_fault"]


@runtime_checkable
class Fault(Protocol):
    """One way the network fails, bound to the target it fails on."""

    @property
    def name(self) -> str: ...

    @property
    def moves_to_vpn(self) -> bool:
        """Whether traffic is expected to leave ExpressRoute for the VPN."""
        ...

    def inject(self) -> None: ...

    def undo(self) -> None: ...

    def journal_entry(self) -> dict[str, str]:
        """What the fault journal needs to undo this fault from another process."""
        ...


class FaultsNotUndone(ErdrillError):
    """One or more undos failed; every one was tried and each failure is named."""

    def __init__(self, failures: Sequence[tuple[str, BaseException]]) -> None:
        self.failures = list(failures)
        super().__init__("; ".join(f"undo of {name} failed: {exc}" for name, exc in self.failures))


def undo_every(undos: Iterable[tuple[str, Callable[[], object]]]) -> None:
    """Run every undo in order, even after one failed; raise the failures together.

    Each undo is named (`FaultsNotUndone` says which failed and why); a lazy iterable
    is fine, so an undo may depend on the one before it having run.
    """
    failures: list[tuple[str, BaseException]] = []
    for name, undo in undos:
        try:
            undo()
        except Exception as exc:
            failures.append((name, exc))
    if failures:
        raise FaultsNotUndone(failures)


def unknown_fault(source: str, name: str, choices: Sequence[str]) -> ConfigError:
    """The one-line error for a fault name a target does not know, listing the choices."""
    return ConfigError(
        source, "fault", f"unknown fault kind {name!r}", f"use one of {', '.join(choices)}"
    )


@dataclass
class FaultLedger:
    """Where a drill journals its faults: the target's key, the run and the state folder."""

    key: str
    run_id: str
    state_dir: Path | None = None

    def open(self, fault: Fault) -> None:
        journal.open_entry(self.key, self.run_id, fault.name, fault.journal_entry(), self.state_dir)

    def close(self, fault: Fault) -> None:
        journal.close_entry(self.key, fault.name, self.state_dir)


@contextlib.contextmanager
def applied(
    faults: Sequence[Fault],
    ledger: FaultLedger,
    *,
    injecting: Callable[[Fault], None] | None = None,
    undoing: Callable[[Fault], None] | None = None,
    guard: Callable[[], contextlib.AbstractContextManager[object]] = contextlib.nullcontext,
) -> Iterator[None]:
    """Journal, inject each fault in order, yield; undo them in reverse order in `finally`.

    Every fault journaled is undone, even one whose inject raised halfway, and every
    undo runs even if an earlier one failed; the failures are raised together as
    `FaultsNotUndone`. A journal entry is cleared only once its undo returned, so a
    failed undo stays journaled for the next run to repair. `injecting` and `undoing`
    are called just before each inject and each undo (the drill stamps its instants
    there); the undos run inside `guard` (the drill holds signals there).
    """
    journaled: list[Fault] = []
    try:
        for fault in faults:
            ledger.open(fault)
            journaled.append(fault)
            if injecting is not None:
                injecting(fault)
            fault.inject()
        yield
    finally:

        def undo(fault: Fault) -> None:
            if undoing is not None:
                undoing(fault)
            fault.undo()
            ledger.close(fault)

        not_undone: FaultsNotUndone | None = None
        with guard():  # raised after the guard, which must see its block end normally
            try:
                undo_every((f.name, functools.partial(undo, f)) for f in reversed(journaled))
            except FaultsNotUndone as exc:
                not_undone = exc
        if not_undone is not None:
            raise not_undone
