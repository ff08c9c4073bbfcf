"""The second way to put the network back: `python -m targets.rescue KEY`.

The drill's watchdog runs this in a fresh process when its own undo does not finish in
time. It shares nothing with the drill but the fault journal: it undoes the open entries
of one target (without taking the lock, which the asking drill holds), then says on one
JSON line what it undid and which path each direction uses now.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from erdrill.core import journal
from erdrill.core.errors import ErdrillError
from erdrill.core.settings import DrillOptions
from erdrill.lab.lab import Lab
from erdrill.lab.lab_fault import PREFIX, RUN_ROOT
from erdrill.targets.factory import repair_open_faults

__all__ = ["main", "rescue"]


def rescue(key: str, state_dir: Path | None, allow_disruption: bool) -> dict[str, Any]:
    """Undo the journaled faults of `key`; what was undone, what is left, the paths now."""
    entries = journal.open_entries(key, state_dir)
    report: dict[str, Any] = {"undone": [], "left": None, "paths": None}
    try:
        report["undone"] = repair_open_faults(
            DrillOptions(allow_disruption=allow_disruption),
            state_dir,
            key,
            for_holder=True,
        )
    except ErdrillError as exc:
        report["left"] = str(exc)
    for entry in entries:
        undo = entry.get(journal.UNDO, {})
        if undo.get(PREFIX) and undo.get(RUN_ROOT):  # a lab, or Azure's face on a lab
            report["paths"] = Lab.of_entry(entry).paths().to_dict()
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m targets.rescue", description=__doc__)
    ap.add_argument("key", help="the target's journal key, e.g. lab-erd-lab")
    ap.add_argument("--state-dir", type=Path, default=None)
    ap.add_argument("--allow-disruption", action="store_true")
    args = ap.parse_args(argv)
    report = rescue(args.key, args.state_dir, args.allow_disruption)
    print(json.dumps(report), flush=True)
    return 0 if report["left"] is None else 1


if __name__ == "__main__":
    sys.exit(main())
