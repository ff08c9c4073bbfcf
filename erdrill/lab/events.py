"""The lab's ground-truth event log: faults, restores and route changes, timestamped.

One JSON object per line, appended with a single write so concurrent writers
(the lab, the route watchers) never interleave. Each event carries `mono`
(CLOCK_MONOTONIC, shared by every process on the machine) and `wall` (Unix time).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

__all__ = ["append", "now", "read"]


def now() -> tuple[float, float]:
    """(monotonic, wall) timestamps taken together."""
    return time.monotonic(), time.time()


def append(log: Path, kind: str, /, **fields: Any) -> dict[str, Any]:
    """Append one event and return it."""
    mono, wall = now()
    event = {"mono": mono, "wall": wall, "kind": kind, **fields}
    if "start_wall" in fields:  # an action that took time: stamp it when it began
        event["mono"] = mono - (wall - fields["start_wall"])
        event["wall"] = fields["start_wall"]
        del event["start_wall"]
    line = (json.dumps(event, sort_keys=True) + "\n").encode()
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return event


def read(path: Path, since_wall: float = 0.0) -> list[dict[str, Any]]:
    """Events at or after a wall time, in file order; a torn last line is skipped."""
    if not path.exists():
        return []
    events = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            e = json.loads(line)
        except json.JSONDecodeError:
            continue
        if e.get("wall", 0.0) >= since_wall:
            events.append(e)
    return events
