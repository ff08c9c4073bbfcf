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

from erdrill.core.errors import ErdrillError
from erdrill.core.exitcodes import ExitCode
from erdrill.core.files import write_atomic

__all__ = [
    "FAULT",
    "KEPT",
    "STATE_DIR",
    "TARGET",
    "UNDO",
    "DrillLock",
    "DrillLocked",
    "OpenFault",
    "acquire",
    "close_entry",
    "describe_entry",
    "journal_path",
    "keep_entry",
    "lock_path",
    "open_entries",
    "open_entry",
    "repair",
]

STATE_DIR = Path(os.environ.get("ERDRILL_STATE_DIR", "/var/lib/erdrill/state"))

# An entry's keys: the fault's name, how to undo it (a dict whose TARGET names the undoer:
# "lab", "azure"), and KEPT when the fault is left in place on purpose (`erdrill lab fault`,
# the Azure face): repair leaves a kept entry alone; whoever keeps it undoes it.
FAULT, UNDO, TARGET, KEPT = "fault", "undo", "target", "kept"


class DrillLocked(ErdrillError):
    """Another drill runs against the same target."""

    exit_code = int(ExitCode.LOCKED)


class OpenFault(ErdrillError):
    """A fault from an earlier drill is still in place and could not be undone here."""

    exit_code = int(ExitCode.OPEN_FAULT)


def _key(target_key: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", target_key)


@dataclass
class DrillLock:
    """Held while a drill runs against one target."""

    path: Path
    fd: int
    took_over: dict[str, Any] | None = None

    def retag(self, run_id: str, started_at: str | None = None) -> None:
        """Name the drill now running under this lock (what a refused drill is told)."""
        holder = _read(self.path)
        holder.update(run_id=run_id, started_at=started_at or _now())
        _write_holder(self.fd, holder)

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _write_holder(fd: int, holder: dict[str, Any]) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder) + "\n").encode(), 0)
    os.fsync(fd)


def acquire(target_key: str, run_id: str, state_dir: Path | None = None) -> DrillLock:
    """Take the drill lock for a target, or refuse naming the drill that holds it."""
    d = state_dir or STATE_DIR
    d.mkdir(parents=True, exist_ok=True)
    path = lock_path(target_key, d)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(path)
            os.close(fd)
            raise DrillLocked(
                f"another drill is running against {target_key}: run "
                f"{holder.get('run_id', '?')} on host {holder.get('host', '?')} (pid "
                f"{holder.get('pid', '?')}) since {holder.get('started_at', '?')}; "
                "wait for it to finish"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder released (and removed) the file meanwhile: lock the new one
    previous = _read(path)
    # The flock was free, so whoever wrote this file is gone (killed, crashed, rebooted).
    stale = previous or None
    mine = {
        "run_id": run_id,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": _now(),
        "target": target_key,
    }
    _write_holder(fd, mine)
    return DrillLock(path, fd, stale)


def lock_path(target_key: str, state_dir: Path | None = None) -> Path:
    return (state_dir or STATE_DIR) / f"lock-{_key(target_key)}.json"


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
    entries = [e for e in entries if e.get(FAULT) != fault]
    entries.append(
        {
            "run_id": run_id,
            FAULT: fault,
            UNDO: undo,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "opened_at": time.time(),
        }
    )
    write_atomic(journal_path(target_key, state_dir), json.dumps(entries, indent=2) + "\n")


def keep_entry(target_key: str, fault: str, state_dir: Path | None = None) -> None:
    """Mark an entry as left in place on purpose, once its inject returned: repair skips it."""
    entries = open_entries(target_key, state_dir)
    for e in entries:
        if e.get(FAULT) == fault:
            e[KEPT] = True
    write_atomic(journal_path(target_key, state_dir), json.dumps(entries, indent=2) + "\n")


def close_entry(target_key: str, fault: str, state_dir: Path | None = None) -> None:
    """Clear an entry once its undo is confirmed."""
    entries = [e for e in open_entries(target_key, state_dir) if e.get(FAULT) != fault]
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


def describe_entry(key: str, entry: dict[str, Any]) -> str:
    """What an open entry leaves in place and how to undo it, in one line."""
    undo = entry.get(UNDO, {})
    how = ", ".join(f"{k}={v}" for k, v in undo.items()) if isinstance(undo, dict) else undo
    opened = entry.get("opened_at")
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(float(opened))) if opened else "?"
    return (
        f"fault {entry.get(FAULT)} on {key} from run {entry.get('run_id')} (host "
        f"{entry.get('host')}, pid {entry.get('pid')}, since {since}); undo: {how}"
    )


def repair(
    undoers: dict[str, Undoer],
    state_dir: Path | None = None,
    target_key: str | None = None,
    *,
    for_holder: bool = False,
) -> list[str]:
    """Undo every open journal entry whose drill is gone (of one target, or all).

    A drill holds its target's lock while its fault is in place, so an entry whose lock
    is free was left by a dead drill; repair takes that lock while it undoes. Entries of
    a running drill are left to it. `undoers` maps an entry's undo["target"] kind ("lab",
    "azure") to a function that undoes it or raises OpenFault. Every entry is tried;
    what could not be undone is raised together as one OpenFault saying what is left.
    Returns what was undone. `for_holder`: the live drill holding the lock asked (its own
    undo hung), so the entries are undone without taking the lock. Kept entries (faults
    left in place on purpose) are left to whoever keeps them.
    """
    done: list[str] = []
    left: list[str] = []
    d = state_dir or STATE_DIR
    paths = [journal_path(target_key, d)] if target_key else sorted(d.glob("journal-*.json"))
    for path in paths:
        key = path.stem.removeprefix("journal-")
        entries = [e for e in open_entries(key, d) if not e.get(KEPT)]
        if not entries:
            continue
        lock: DrillLock | None = None
        if not for_holder:
            try:
                lock = acquire(key, "repair", d)
            except DrillLocked:
                continue  # its drill is still running and will undo it itself
        try:
            for entry in entries:
                line = describe_entry(key, entry)
                kind = str(entry.get(UNDO, {}).get(TARGET, ""))
                try:
                    if kind not in undoers:
                        raise OpenFault(
                            f"erdrill cannot undo a {kind!r} target here: undo it by hand, "
                            f"then remove the entry from {path}"
                        )
                    undoers[kind](entry)
                except ErdrillError as exc:
                    left.append(f"{line} ({exc})")
                    continue
                close_entry(key, str(entry.get(FAULT)), d)
                done.append(line)
        finally:
            if lock is not None:
                lock.release()
    if left:
        raise OpenFault(
            f"{len(left)} fault(s) from earlier drills are still in place: "
            + "; ".join(left)
            + (f" (undone meanwhile: {'; '.join(done)})" if done else "")
        )
    return done
