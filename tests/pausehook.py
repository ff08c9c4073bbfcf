"""A pytest plugin for the interrupt tests: hold a drill still in one phase so it can be signalled.

Loaded with `-p pausehook` (tests/ on PYTHONPATH) by tests/drillrun.py. With
ERDRILL_PAUSE_AT_PHASE=<phase> the drill sleeps once, for ERDRILL_PAUSE_S seconds
(default 120), when that phase is under way (failover: right after the fault is
injected; every other phase: right after entering it), and marks the pause with a file
`paused` beside drill.json.
"""

from __future__ import annotations

import os
import time

from erdrill.core.outcomes import Phase
from erdrill.drill.engine import Drill

PAUSE_ENV = "ERDRILL_PAUSE_AT_PHASE"
PAUSE_S_ENV = "ERDRILL_PAUSE_S"


def pause(drill: Drill, phase: Phase) -> None:
    if os.environ.get(PAUSE_ENV) != phase:
        return
    marker = drill.run_dir / "paused"
    try:  # a signal that comes as soon as the marker exists must still remove it
        marker.write_text(phase + "\n")
        time.sleep(float(os.environ.get(PAUSE_S_ENV, "120")))
    finally:
        marker.unlink(missing_ok=True)


def pytest_erdrill_drill_created(drill: Drill) -> None:
    drill.pause = pause
