"""Verifying a history file: its hash chain, line by line, and its head signature."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from erdrill.reports.integrity.chain import (
    CHAIN_FIELDS,
    GENESIS,
    entry_hash,
    head_message,
    history_signature_path,
    line_digest,
)
from erdrill.reports.integrity.errors import EvidenceError, Finding, ItemReport
from erdrill.reports.integrity.files import read_optional
from erdrill.reports.integrity.signing import check_signature, fingerprint

__all__ = [
    "verify_history",
]


@dataclass(slots=True)
class _Line:
    number: int
    content: bytes
    obj: dict[str, Any] | None
    chained: bool
    intact: bool  # its hash matches its content


def verify_history(path: Path, key: Ed25519PublicKey | None = None) -> ItemReport:
    """Check the hash chain of a history file (and its head signature with `key`).

    Lines without chain fields at the start are a legacy prefix (a note); a break names
    the line and whether it looks like a deletion, an insertion or a swap.
    """
    report = ItemReport(str(path), "history")
    findings = report.findings
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(f"verify: {path}: cannot read: {exc.strerror}") from exc
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    lines: list[_Line] = []
    for number, content in enumerate(raw_lines, start=1):
        if not content.strip():
            findings.append(Finding("note", f"{path}:{number}", "blank line (ignored)"))
            continue
        try:
            obj = json.loads(content)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            findings.append(Finding("altered", f"{path}:{number}", "not a JSON object"))
            lines.append(_Line(number, content, None, False, False))
            continue
        chained = all(k in obj for k in CHAIN_FIELDS)
        intact = chained and entry_hash(obj) == obj.get("hash")
        lines.append(_Line(number, content, obj, chained, intact))

    by_digest: dict[str, int] = {}
    for i, ln in enumerate(lines):
        by_digest.setdefault(line_digest(ln.content), i)
    successor_of: dict[str, int] = {}
    for i, ln in enumerate(lines):
        if ln.chained and ln.obj is not None:
            successor_of.setdefault(str(ln.obj.get("prev")), i)

    legacy_end = 0
    while (
        legacy_end < len(lines)
        and not lines[legacy_end].chained
        and lines[legacy_end].obj is not None
    ):
        legacy_end += 1
    if legacy_end:
        last = lines[legacy_end - 1].number
        findings.append(
            Finding(
                "note",
                str(path),
                f"lines 1-{last} predate the hash chain (legacy prefix, not protected)",
            )
        )
    explained_until = -1  # index up to which breaks are explained by a reported swap
    for i in range(legacy_end, len(lines)):
        ln = lines[i]
        here = f"{path}:{ln.number}"
        run = _run_of(ln)
        if ln.obj is None:
            continue
        if not ln.chained:
            findings.append(
                Finding("inserted", here, f"{run}has no chain fields but follows chained lines")
            )
            continue
        if not ln.intact:
            findings.append(Finding("altered", here, f"{run}its content does not match its hash"))
        prev = str(ln.obj.get("prev"))
        before = lines[i - 1] if i > 0 else None
        expected = GENESIS if before is None else line_digest(before.content)
        if prev == expected:
            continue
        if before is not None and before.obj is not None and not before.intact and before.chained:
            continue  # the line before was altered: already named
        if i <= explained_until and (prev in by_digest or prev == GENESIS):
            continue
        if prev == GENESIS:
            findings.append(
                Finding(
                    "deleted",
                    here,
                    f"{run}starts a new chain: the lines before it were replaced or "
                    "it was spliced in from another history",
                )
            )
        elif prev not in by_digest:
            between = (
                f"between lines {before.number} and {ln.number}"
                if before is not None
                else f"before line {ln.number}"
            )
            findings.append(
                Finding(
                    "deleted",
                    here,
                    f"{run}the line it was chained to is gone: a line was deleted {between}"
                    + (f" (or line {before.number} was rewritten)" if before is not None else ""),
                )
            )
        else:
            j = by_digest[prev]
            if j > i:
                q = successor_of.get(expected)
                other = lines[q].number if q is not None and q > i else lines[j].number
                findings.append(
                    Finding(
                        "reordered",
                        here,
                        f"{run}lines {ln.number} and {other} are swapped "
                        f"(line {ln.number} was chained after line {lines[j].number})",
                    )
                )
                explained_until = max(j, q if q is not None else j) + 1
            else:
                first, last_in = lines[j].number + 1, lines[i - 1].number
                span = f"line {first}" if first == last_in else f"lines {first}-{last_in}"
                findings.append(
                    Finding(
                        "inserted",
                        here,
                        f"{run}was chained right after line {lines[j].number}: "
                        f"{span} inserted or moved here",
                    )
                )
    _check_history_head(report, path, lines, key)
    n_chained = sum(1 for ln in lines if ln.chained)
    signed = (
        f"; head signature good (key {fingerprint(key)})" if key is not None and report.ok else ""
    )
    report.summary = (
        f"{n_chained} chained lines intact"
        + (f" after {legacy_end} legacy lines" if legacy_end else "")
        + signed
    )
    return report


def _run_of(ln: _Line) -> str:
    run = ln.obj.get("run_id") if ln.obj else None
    return f"(run {run}) " if run else ""


def _check_history_head(
    report: ItemReport, path: Path, lines: Sequence[_Line], key: Ed25519PublicKey | None
) -> None:
    sig_path = history_signature_path(path)
    sig = read_optional(sig_path)
    findings = report.findings
    if sig is None:
        if key is not None:
            findings.append(
                Finding("unsigned", str(sig_path), "missing, but --key asks for a signature")
            )
        return
    try:
        doc = json.loads(sig)
        line, head_hash = int(doc["line"]), str(doc["hash"])
    except (ValueError, KeyError, TypeError):
        findings.append(Finding("altered", str(sig_path), "not a signature file erdrill wrote"))
        return
    if key is not None:
        bad = check_signature(str(sig_path), sig, head_message(line, head_hash), key)
        if bad is not None:
            findings.append(bad)
            return
    at = [ln for ln in lines if ln.obj is not None and ln.obj.get("hash") == head_hash]
    last = lines[-1] if lines else None
    if not at:
        findings.append(
            Finding(
                "deleted",
                str(sig_path),
                f"the signed head (line {line}) is not in the history: lines were deleted "
                "from its end or the head was rewritten",
            )
        )
    elif last is not None and at[-1].number != last.number:
        first = at[-1].number + 1
        after = f"line {first} was" if first == last.number else f"lines {first}-{last.number} were"
        kind = "unsigned" if key is not None else "note"
        findings.append(
            Finding(kind, str(sig_path), f"signs line {at[-1].number}; {after} appended unsigned")
        )
    elif key is None:
        findings.append(
            Finding(
                "note",
                str(sig_path),
                f"head signed by key {doc.get('key_fingerprint')}; pass --key to check it",
            )
        )
