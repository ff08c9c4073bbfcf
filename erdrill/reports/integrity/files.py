"""File helpers for evidence: atomic writes with a fixed mode, optional reads."""

from __future__ import annotations

from pathlib import Path

from erdrill.core.files import write_atomic

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
    write_atomic(path, data, mode=mode)
