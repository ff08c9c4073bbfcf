"""Never leave a network broken: the fault journal and the one-drill-per-target lock.

Before a fault is injected, an entry saying what to undo and how is written durably;
it is cleared only once the undo is confirmed. Any later erdrill run finds open entries
and undoes them first (`repair`). The lock is an flock held for the whole drill: the
kernel releases it when its process dies, so a stale lock is taken over, never obeyed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from erdrill.errors import ErdrillError
from erdrill.record import write_atomic

STATE_DIR = Path(os.environ.get("ERDRILL_STATE_DIR", "/var/lib/erdrill/state"))


class DrillLocked(ErdrillError):
    """Another drill runs against the same target."""

    exit_code = 5


class OpenFault(ErdrillError):
    """A fault from an earlier drill is still in place and could not be undone here."""

    exit_code = 6


def _key(target_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", target_key)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class DrillLock:
    """Held while a drill runs against one target."""

    path: Path
    fd: int
    took_over: dict[str, Any] | None = None

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def acquire(target_key: str, run_id: str, state_dir: Path | None = None) -> DrillLock:
    """Take the drill lock for a target, or refuse naming the drill that holds it."""
    d = state_dir or STATE_DIR
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"lock-{_key(target_key)}.json"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read(path)
        os.close(fd)
        raise DrillLocked(
            f"another drill is running against {target_key}: run {holder.get('run_id', '?')} "
            f"on host {holder.get('host', '?')} (pid {holder.get('pid', '?')}) since "
            f"{holder.get('started_at', '?')}; wait for it to finish"
        ) from None
    previous = _read(path)
    stale = previous if previous and not _pid_alive(int(previous.get("pid", 0) or 0)) else None
    mine = {
        "run_id": run_id,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "target": target_key,
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(mine) + "\n").encode(), 0)
    os.fsync(fd)
    return DrillLock(path, fd, stale)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def journal_path(target_key: str, state_dir: Path | None = None) -> Path:
    return (state_dir or STATE_DIR) / f"journal-{_key(target_key)}.json"


def open_entry(
    target_key: str, run_id: str, fault: str, undo: dict[str, Any], state_dir: Path | None = None
) -> None:
    """Durably record, before injecting, what must be undone and how."""
    entries = open_entries(target_key, state_dir)
    entries = [e for e in entries if e.get("fault") != fault]
    entries.append(
        {
            "run_id": run_id,
            "fault": fault,
            "undo": undo,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "opened_at": time.time(),
        }
    )
    write_atomic(journal_path(target_key, state_dir), json.dumps(entries, indent=2) + "\n")


def close_entry(target_key: str, fault: str, state_dir: Path | None = None) -> None:
    """Clear an entry once its undo is confirmed."""
    entries = [e for e in open_entries(target_key, state_dir) if e.get("fault") != fault]
    path = journal_path(target_key, state_dir)
    if entries:
        write_atomic(path, json.dumps(entries, indent=2) + "\n")
    else:
        path.unlink(missing_ok=True)


def open_entries(
    target_key: str | None = None, state_dir: Path | None = None
) -> list[dict[str, Any]]:
    """Open journal entries for one target, or for every target when none is named."""
    d = state_dir or STATE_DIR
    paths = [journal_path(target_key, d)] if target_key else sorted(d.glob("journal-*.json"))
    out: list[dict[str, Any]] = []
    for p in paths:
        try:
            data = json.loads(p.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, list):
            out.extend(e for e in data if isinstance(e, dict))
    return out


Undoer = Callable[[dict[str, Any]], None]


def repair(
    undoers: dict[str, Undoer], state_dir: Path | None = None, target_key: str | None = None
) -> list[str]:
    """Undo every open journal entry (of one target, or all); return what was undone.

    `undoers` maps an entry's undo["target"] kind ("lab", "azure") to a function that undoes
    it or raises OpenFault saying exactly what is left.
    """
    done = []
    d = state_dir or STATE_DIR
    paths = [journal_path(target_key, d)] if target_key else sorted(d.glob("journal-*.json"))
    for path in paths:
        key = path.stem.removeprefix("journal-")
        for entry in open_entries(key, d):
            if _pid_alive(int(entry.get("pid", 0) or 0)) and entry.get("pid") != os.getpid():
                continue  # its drill is still running and will undo it itself
            kind = str(entry.get("undo", {}).get("target", ""))
            if kind not in undoers:
                raise OpenFault(
                    f"fault {entry.get('fault')} from run {entry.get('run_id')} is still "
                    f"in place on {key} and erdrill cannot undo a {kind!r} target here"
                )
            undoers[kind](entry)
            close_entry(key, str(entry.get("fault")), d)
            done.append(f"{key}: {entry.get('fault')} (run {entry.get('run_id')})")
    return done
