"""The drill history: one JSON line per drill in reports/history/drills.jsonl, append-only.

Appends are atomic with respect to other writers and to crashes: the file is locked with
`fcntl.flock`, opened with O_APPEND, the line goes out in one `os.write`, then `fsync`.
Lines are scrubbed of secrets before they are written.

The lines form a hash chain (`reports.integrity`): each holds ``prev``, the SHA-256 of
the line before it, and ``hash``, that of its own content. Older lines without those
fields still load; `erdrill verify` reports them as a legacy prefix.

`append` may add fields beside the record's (``extra``: the drill's ``finding_ids`` and
``finding_changes`` from `reports.findings`); they are hashed into the chain like the rest.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from erdrill.core.errors import ErdrillError
from erdrill.core.record import DrillRecord
from erdrill.reports import integrity
from erdrill.reports.redact import redact, redact_data

__all__ = ["DEFAULT_HISTORY", "HistoryError", "append", "read", "read_lines"]

DEFAULT_HISTORY = Path("reports/history/drills.jsonl")
"""Relative to the working directory (the repository root when run by the drill scripts)."""


class HistoryError(ErdrillError):
    """The drill history file cannot be written or holds a line that is not a drill record."""


def append(
    record: DrillRecord,
    path: Path = DEFAULT_HISTORY,
    secrets: Iterable[str | None] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Append `record` (and the `extra` fields) as one JSON line to `path`; return `path`."""
    secrets = list(secrets or [])
    dumped = record.model_dump(mode="json", by_alias=True)
    dumped.update({k: v for k, v in (extra or {}).items() if k not in integrity.CHAIN_FIELDS})
    data = redact_data(dumped, secrets)
    line = redact(json.dumps(data, separators=(",", ":"), sort_keys=True), secrets)
    entry = json.loads(line)
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise HistoryError(f"drill history {path}: cannot open for append: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        payload = integrity.chained_payload(entry, fd)  # chained to the last line, under the lock
        written = os.write(fd, payload)
        if written != len(payload):
            raise HistoryError(
                f"drill history {path}: short write ({written} of {len(payload)} bytes); "
                "check free space"
            )
        os.fsync(fd)
    except OSError as exc:
        raise HistoryError(f"drill history {path}: append failed: {exc.strerror}") from exc
    finally:
        os.close(fd)  # releases the lock
    if created:
        _fsync_dir(path.parent)
    return path


def read_lines(path: Path = DEFAULT_HISTORY) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield (line number, parsed JSON object) for every non-blank line."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_SH)
        lines = f.readlines()
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise HistoryError(f"drill history {path}:{number}: not JSON: {exc.msg}") from exc
        if not isinstance(obj, dict):
            raise HistoryError(f"drill history {path}:{number}: not a JSON object")
        yield number, obj


def read(path: Path = DEFAULT_HISTORY) -> list[DrillRecord]:
    """Every drill in the history, oldest first (chain fields dropped); a missing file is
    an empty history."""
    records: list[DrillRecord] = []
    for number, obj in read_lines(path):
        try:
            records.append(DrillRecord.model_validate(integrity.strip_chain(obj)))
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            raise HistoryError(
                f"drill history {path}:{number}: not a drill record: {first}"
            ) from exc
    return records


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
