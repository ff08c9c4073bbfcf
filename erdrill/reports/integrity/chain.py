"""The hash-chained drill history and the signature of its head.

Each line holds ``prev`` (SHA-256 of the previous line's bytes, `GENESIS` for the first)
and ``hash`` (SHA-256 of its own canonical content); ``drills.jsonl.sig`` signs the head.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from erdrill.reports.integrity.errors import EvidenceError
from erdrill.reports.integrity.files import CHUNK, write_bytes
from erdrill.reports.integrity.signing import signature_doc

__all__ = [
    "CHAIN_FIELDS",
    "GENESIS",
    "chain_entry",
    "chained_payload",
    "entry_hash",
    "head_message",
    "history_signature_path",
    "last_line",
    "line_digest",
    "sign_history_head",
    "strip_chain",
]

_HEAD_SCHEMA = "erdrill.history-head/1"
GENESIS = "0" * 64
"""The ``prev`` of the first line of a history."""
CHAIN_FIELDS = ("prev", "hash")


def _canonical(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def entry_hash(obj: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an entry's canonical JSON without its ``hash`` field."""
    content = {k: v for k, v in obj.items() if k != "hash"}
    return hashlib.sha256(_canonical(content).encode("utf-8")).hexdigest()


def line_digest(content: bytes) -> str:
    """The ``prev`` a line's successor holds: SHA-256 of the line's bytes and its newline."""
    return hashlib.sha256(content + b"\n").hexdigest()


def chain_entry(obj: Mapping[str, Any], previous_line: bytes | None) -> bytes:
    """The history line (with newline) for `obj` following `previous_line` (None: first)."""
    entry = {k: v for k, v in obj.items() if k not in CHAIN_FIELDS}
    entry["prev"] = GENESIS if previous_line is None else line_digest(previous_line)
    entry["hash"] = entry_hash(entry)
    return (_canonical(entry) + "\n").encode("utf-8")


def strip_chain(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`obj` without its chain fields (for reading a history line as a drill record)."""
    return {k: v for k, v in obj.items() if k not in CHAIN_FIELDS}


def last_line(fd: int) -> tuple[bytes | None, bool]:
    """(the last non-blank line of the open file `fd` without its newline, or None; whether
    the file ends with a newline). Reads backwards from the end in chunks."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, True
    ends_with_newline = os.pread(fd, 1, size - 1) == b"\n"
    tail = b""
    pos = size
    while pos > 0:
        step = min(CHUNK, pos)
        pos -= step
        tail = os.pread(fd, step, pos) + tail
        lines = tail.split(b"\n")
        # lines[0] may be cut off unless we reached the start of the file
        complete = lines if pos == 0 else lines[1:]
        for line in reversed(complete):
            if line.strip():
                return line, ends_with_newline
    return None, ends_with_newline


def chained_payload(obj: Mapping[str, Any], fd: int) -> bytes:
    """The bytes to append to the history open at `fd` (locked by the caller) for `obj`."""
    previous, ends_with_newline = last_line(fd)
    payload = chain_entry(obj, previous)
    return payload if ends_with_newline else b"\n" + payload


def history_signature_path(history: Path) -> Path:
    """Where the signature of a history's head lives: ``drills.jsonl.sig`` beside it."""
    return history.with_name(history.name + ".sig")


def head_message(line: int, entry_hash_hex: str) -> bytes:
    """The message a history head signature signs: schema, line number and entry hash."""
    return f"{_HEAD_SCHEMA}\nline {line}\nhash {entry_hash_hex}\n".encode("ascii")


def sign_history_head(history: Path, key: Ed25519PrivateKey) -> Path:
    """Sign the last line's ``hash`` of `history` (under its lock); return the .sig path."""
    import fcntl

    sig = history_signature_path(history)
    with history.open("rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # no append between reading the head and signing
        lines = [ln for ln in f.read().split(b"\n") if ln.strip()]
        if not lines:
            raise EvidenceError(f"history {history}: empty; nothing to sign")
        try:
            head = json.loads(lines[-1])
            head_hash = str(head["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise EvidenceError(
                f"history {history}: its last line has no chain hash; append a drill first"
            ) from exc
        number = len(lines)
        write_bytes(
            sig,
            signature_doc(
                key,
                head_message(number, head_hash),
                schema=_HEAD_SCHEMA,
                line=number,
                hash=head_hash,
                run_id=str(head.get("run_id", "")),
            ),
        )
    return sig
