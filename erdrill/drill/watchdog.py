"""The watchdog on putting the network back: a bound on the undo, and a second way to do it.

If the drill's own undo does not return within its bound (a daemon or the Azure face that
stops answering, a lock held by a stuck thread), the fault is undone by a second path that
shares no state with the first: a fresh process (`python -m targets.rescue`) that reads the
fault journal, undoes what is open and says which path carries traffic now.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from erdrill.core.errors import TargetError
from erdrill.core.faults import FaultsNotUndone
from erdrill.core.record import DrillRecord
from erdrill.drill.signals import DRILL_SIGNALS

__all__ = ["Rescue", "finished_within", "second_path", "take_second_path"]


def finished_within(action: Callable[[], None], bound_s: float, name: str) -> bool:
    """Run `action` in a thread; False if it is still running after `bound_s` (left behind).

    An exception from `action` is raised here when it finished in time.
    """
    failure: list[BaseException] = []

    def run() -> None:
        # the undo forks (pyroute2, nft, birdc): signals stay with the main thread (watch.py)
        signal.pthread_sigmask(signal.SIG_BLOCK, DRILL_SIGNALS)
        try:
            action()
        except BaseException as exc:
            failure.append(exc)

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    worker.join(bound_s)
    if worker.is_alive():
        return False
    if failure:
        raise failure[0]
    return True


@dataclass
class Rescue:
    """What the second path did."""

    undone: list[str] = field(default_factory=list)
    left: str | None = None
    paths: dict[str, str] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"undone": self.undone, "left": self.left, "paths": self.paths, "error": self.error}


def second_path(
    key: str, state_dir: Path | None, allow_disruption: bool, timeout_s: float
) -> Rescue:
    """Undo the journaled faults of `key` from a fresh process; what it reports."""
    # -I: neither the caller's directory nor PYTHONPATH can put another module in its place
    argv = [sys.executable, "-I", "-m", "erdrill.targets.rescue", key]
    if state_dir is not None:
        argv += ["--state-dir", str(state_dir)]
    if allow_disruption:
        argv.append("--allow-disruption")
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=os.environ.copy(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Rescue(error=f"the second path did not finish within {timeout_s:g} s")
    lines = done.stdout.strip().splitlines()
    try:
        report = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        report = {}
    if not report:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Rescue(error=f"the second path failed (exit {done.returncode}): {tail}")
    return Rescue(report.get("undone", []), report.get("left"), report.get("paths"))


def take_second_path(
    record: DrillRecord, key: str, state_dir: Path | None, bound_s: float, timeout_s: float
) -> Rescue:
    """The first undo hangs: undo from a fresh process; the record says so. Raises if it fails."""
    rescue = second_path(key, state_dir, True, timeout_s)  # the drill already had consent
    fired = datetime.now(UTC).isoformat(timespec="milliseconds")
    record.watchdog = {"fired_at": fired, "bound_s": bound_s, **rescue.to_dict()}
    record.findings.append(
        f"watchdog: the undo of {record.fault} did not finish within {bound_s:g} s; a fresh "
        f"process reading the fault journal undid {len(rescue.undone)} fault(s)"
        + (f", paths now {rescue.paths}" if rescue.paths else "")
    )
    problem = rescue.error or rescue.left
    if problem:
        raise FaultsNotUndone([(str(record.fault), TargetError(f"second path: {problem}"))])
    return rescue
