"""What the face answered: every request in memory (`RequestLog`) and, with a profile's
`access_log`, as JSONL in `<run_dir>/armface/access.jsonl` (method, path, api-version,
operation, status, duration in ms), written as each request is answered."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from erdrill.core.face_profile import WRITE_OPERATIONS

__all__ = ["ACCESS_LOG", "AccessLog", "LoggedRequest", "RequestLog"]

ACCESS_LOG = "access.jsonl"


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    method: str
    path: str
    operation: str  # operationId, "operation-status", "operation-result" or "unknown"
    status: int
    api_version: str = ""
    duration_ms: float = 0.0
    at: float = 0.0

    @property
    def is_write(self) -> bool:
        return self.operation in WRITE_OPERATIONS or self.method in {"PUT", "PATCH", "DELETE"}

    def to_dict(self) -> dict[str, object]:
        return {
            "at": self.at,
            "method": self.method,
            "path": self.path,
            "api_version": self.api_version,
            "operation": self.operation,
            "status": self.status,
            "duration_ms": round(self.duration_ms, 1),
            "write": self.is_write,
        }


class RequestLog:
    """Every request the face answered, in order (thread-safe)."""

    def __init__(self) -> None:
        self._items: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def add(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def __iter__(self) -> Iterator[LoggedRequest]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def count(
        self, method: str | None = None, operation: str | None = None, status: int | None = None
    ) -> int:
        return sum(
            1
            for r in self
            if (method is None or r.method == method)
            and (operation is None or r.operation == operation)
            and (status is None or r.status == status)
        )

    def writes(self) -> list[LoggedRequest]:
        return [r for r in self if r.is_write]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class AccessLog:
    """Appends one JSON line per request to a file (None: nowhere)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        if path is not None:
            path.touch()

    def write(self, item: LoggedRequest) -> None:
        if self.path is None:
            return
        line = json.dumps(item.to_dict()) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as f:
            f.write(line)
