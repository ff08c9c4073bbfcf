"""File helpers for evidence: atomic writes with a fixed mode, optional reads."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = [
    "CHUNK",
    "read_optional",
    "write_bytes",
]

CHUNK = 1 << 16
"""Bytes read at a time when hashing files or scanning a history backwards."""


def read_optional(path: Path) -> bytes | None:
    """The bytes of `path`, or None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write atomically (temporary file, fsync, rename) with `mode` set before any byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
