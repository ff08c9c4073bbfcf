"""One drill per target at a time: a second is refused naming the first; a stale lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from drillrun import STEADY_STATE, Workspace, finish, output, records, session_prefix, wait_paused

from erdrill.core import journal
from erdrill.core.exitcodes import ExitCode
from erdrill.core.paths import ON_EXPRESSROUTE


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    w = Workspace(tmp_path_factory.mktemp("lock"), session_prefix("erd-lck"))
    yield w
    w.lab.down()


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_second_drill_is_refused_naming_the_first(ws: Workspace) -> None:
    first_dir = ws.root / "first"
    first = ws.start(STEADY_STATE, first_dir, pause_at="steady-state")
    try:
        wait_paused(first, first_dir, "steady-state")
        [running] = records(first_dir)
        second_dir = ws.root / "second"
        second = ws.start(STEADY_STATE, second_dir)
        code = finish(second, second_dir)
        log = output(second_dir)
        assert code == ExitCode.LOCKED, log[-3000:]
        refusal = next(line for line in log.splitlines() if "another drill is running" in line)
        assert running["run_id"] in refusal
        assert f"host {socket.gethostname()}" in refusal
        assert running["started_at"] in refusal
        assert records(second_dir) == []  # refused before any drill began
    finally:
        os.kill(first.pid, signal.SIGTERM)
        assert finish(first, first_dir) == ExitCode.ABORTED
    assert ws.lab.paths() == ON_EXPRESSROUTE


def test_a_stale_lock_of_a_dead_drill_is_taken_over(ws: Workspace) -> None:
    ws.state_dir.mkdir(parents=True, exist_ok=True)
    stale = {
        "run_id": "run-dead-1",
        "host": socket.gethostname(),
        "pid": _dead_pid(),
        "started_at": "2026-01-01T00:00:00Z",
        "target": ws.key,
    }
    journal.lock_path(ws.key, ws.state_dir).write_text(json.dumps(stale))
    drills = ws.root / "after-stale"
    code = finish(ws.start(STEADY_STATE, drills), drills)
    log = output(drills)
    assert code == ExitCode.PASSED, log[-3000:]
    assert f"took over a stale drill lock of run run-dead-1 (pid {stale['pid']}" in log
    assert [r["verdict"] for r in records(drills)] == ["passed"]


def test_lock_in_process(tmp_path: Path) -> None:
    first = journal.acquire("lab-x", "run-1", tmp_path)
    first.retag("run-2", "2026-02-03T04:05:06.000+00:00")
    with pytest.raises(journal.DrillLocked) as refused:
        journal.acquire("lab-x", "run-3", tmp_path)
    msg = str(refused.value)
    assert "run run-2" in msg and "2026-02-03T04:05:06.000+00:00" in msg
    assert f"(pid {os.getpid()})" in msg and refused.value.exit_code == ExitCode.LOCKED
    first.release()
    again = journal.acquire("lab-x", "run-4", tmp_path)
    assert again.took_over is None  # a released lock is not stale
    os.close(again.fd)  # dies without releasing: the file stays, the flock is gone
    taken = journal.acquire("lab-x", "run-5", tmp_path)
    assert taken.took_over is not None and taken.took_over["run_id"] == "run-4"
    taken.release()
