"""Build the drill target the operator asked for, and repair what earlier drills left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from erdrill.core import journal
from erdrill.core.errors import ConfigError
from erdrill.core.settings import DrillOptions
from erdrill.lab import lab_fault
from erdrill.lab.lab import Lab
from erdrill.lab.lab_fault import LabFault
from erdrill.lab.topology import load_topology
from erdrill.targets.lab import LabTarget
from erdrill.targets.target import Target

__all__ = ["make_target", "repair_open_faults"]


def make_target(options: DrillOptions, drill_config: Path | None, topology: Path | None) -> Target:
    """The lab (default) or Azure target, not yet checked."""
    if options.target == "lab":
        # Up means BGP, the tunnel and traffic; which path wins is the steady-state check's
        # verdict, so a misconfigured topology still comes up and fails that check by name.
        return LabTarget(Lab(load_topology(topology)), expect_expressroute=False)
    if options.target == "azure":
        from erdrill.targets.azure import make_azure_target

        return make_azure_target(options, drill_config, topology)
    raise ConfigError(
        "--target", "target", f"unknown target {options.target!r}", "use lab or azure"
    )


def _undo_lab(entry: dict[str, Any], state_dir: Path | None) -> None:
    """Undo a lab fault a dead drill left; a half-built or half-removed lab is removed."""
    lab = Lab.of_entry(entry, state_dir)
    if lab.is_up():
        LabFault.from_journal(entry, lab).undo()
        lab.wait_healthy(timeout=30.0)
    elif lab.existing_namespaces():
        lab.down()  # a partial lab keeps no steady state worth saving: the next run rebuilds


def repair_open_faults(
    options: DrillOptions,
    state_dir: Path | None = None,
    target_key: str | None = None,
    *,
    for_holder: bool = False,
) -> list[str]:
    """Undo faults whose drill died (SIGKILL, power loss) before anything else runs.

    `for_holder`: the live drill of `target_key` asked (the watchdog's second path).
    """
    from erdrill.targets.azure import undo_azure_entry

    undoers: dict[str, journal.Undoer] = {
        lab_fault.TARGET: lambda e: _undo_lab(e, state_dir),
        "azure": lambda e: undo_azure_entry(e, options.allow_disruption),
    }
    return journal.repair(undoers, state_dir, target_key, for_holder=for_holder)
