"""A lab fault kind bound to one lab: inject, undo, and its fault-journal entry both ways.

The kind is resolved once (lab/faults.py `fault_kind`) and carried as an object from
then on. The journal entry says which lab (its prefix and run folder); `from_journal`
reads it back, so a later process (journal repair, the watchdog's rescue) undoes the
fault through this same class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from erdrill.core import journal
from erdrill.lab.faults import FaultKind, fault_kind
from erdrill.lab.topology import Topology

__all__ = ["PREFIX", "RUN_ROOT", "TARGET", "FaultableLab", "LabFault", "journal_key"]

TARGET = "lab"  # the entry's undo[journal.TARGET]: which undoer repairs it
PREFIX, RUN_ROOT = "prefix", "run_root"  # which lab, in the entry's undo


def journal_key(prefix: str) -> str:
    """The key of a lab's journal and drill lock: `lab-<prefix>`."""
    return f"{TARGET}-{prefix}"


class FaultableLab(Protocol):
    """What a bound fault needs from lab.lab.Lab."""

    topology: Topology
    run_dir: Path

    def apply(self, kind: FaultKind) -> None: ...
    def revert(self, kind: FaultKind) -> None: ...


@dataclass(frozen=True)
class LabFault:
    """A resolved lab fault kind bound to one lab (the `core.faults.Fault` of the lab)."""

    kind: FaultKind
    lab: FaultableLab

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def moves_to_vpn(self) -> bool:
        return self.kind.leaves_expressroute(self.lab.topology)

    def inject(self) -> None:
        self.lab.apply(self.kind)

    def undo(self) -> None:
        self.lab.revert(self.kind)

    def journal_entry(self) -> dict[str, str]:
        return {
            journal.TARGET: TARGET,
            PREFIX: self.lab.topology.prefix,
            RUN_ROOT: str(self.lab.run_dir.parent),
            journal.FAULT: self.kind.name,
        }

    @classmethod
    def from_journal(cls, entry: dict[str, Any], lab: FaultableLab) -> LabFault:
        """The fault a journal entry names, bound to its lab (`Lab.of_entry(entry)`)."""
        return cls(fault_kind(str(entry.get(journal.FAULT))), lab)

    @staticmethod
    def lab_of(entry: dict[str, Any]) -> tuple[str, Path | None]:
        """The prefix and run root of the lab a journal entry names (None: the default)."""
        undo = entry.get(journal.UNDO, {})
        root = undo.get(RUN_ROOT)
        return str(undo.get(PREFIX, "erd-lab")), Path(str(root)) if root else None
