"""The instants of one drill: each fault and restore as requested and as it took effect,
and when traffic reached its path. One object owns them; the drill's parts read it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Timeline"]


@dataclass(slots=True)
class Timeline:
    """Wall-clock instants (seconds); None until they happen."""

    fault_requested: float | None = None
    fault_at: float | None = None  # when the fault took effect (see drill.transitions)
    restore_requested: float | None = None
    restore_at: float | None = None  # when the restore took effect
    switched_at: float | None = None  # traffic reached the failover path
    back_at: float | None = None  # traffic reached ExpressRoute again
