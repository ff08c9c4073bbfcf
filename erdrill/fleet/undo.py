"""Undo what a lost drill host left: `python -I -m erdrill.fleet.undo` reads an UndoJob
(JSON) on stdin, writes its journal entries into a journal of its own and undoes them
with erdrill's repair (the same code as every run's repair), then waits until
ExpressRoute carries traffic where a lab shows it; one JSON line (an UndoReport) out."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from erdrill.core import journal
from erdrill.core.errors import ErdrillError
from erdrill.core.settings import DrillOptions
from erdrill.lab.lab import Lab
from erdrill.targets.factory import repair_open_faults

__all__ = ["main", "undo"]

KEY = "fleet-undo"


def undo(entries: list[dict[str, Any]], allow_disruption: bool, wait_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="erdrill-undo-") as tmp:
        state = Path(tmp)
        for e in entries:
            journal.open_entry(
                KEY, str(e.get("run_id")), str(e.get("fault")), dict(e["undo"]), state
            )
        undone = repair_open_faults(DrillOptions(allow_disruption=allow_disruption), state, KEY)
    expressroute: bool | None = None
    paths: dict[str, Any] | None = None
    for e in entries:
        where = e.get("undo", {})
        if where.get("prefix") and where.get("run_root"):  # a lab, or Azure's face on a lab
            lab = Lab.current(str(where["prefix"]), Path(str(where["run_root"])))
            try:
                lab.wait_healthy(wait_s, expect_expressroute=True)
                expressroute = True
            except ErdrillError:
                expressroute = False
            paths = lab.paths().to_dict()
    host = f"{socket.gethostname()} (pid {os.getppid()})"  # the worker that asked
    return {
        "undone": undone,
        "expressroute": expressroute,
        "paths": paths,
        "host": host,
        "at": time.time(),
    }


def main() -> int:
    job = json.loads(sys.stdin.read())
    try:
        report = undo(job["entries"], bool(job["allow_disruption"]), float(job["restore_wait_s"]))
    except ErdrillError as exc:
        print(f"erdrill: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
