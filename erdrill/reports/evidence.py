"""Evidence files for auditors: probe samples as CSV, route snapshots as JSON and text.

Every text produced here passes through `reports.redact.redact`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from erdrill.core.files import write_atomic
from erdrill.core.paths import PathKind
from erdrill.core.routes import RouteEntry, RouteTable
from erdrill.probes.samples import Sample
from erdrill.reports.redact import redact, redact_data

__all__ = [
    "SAMPLE_COLUMNS",
    "RouteSnapshots",
    "route_table_from_dict",
    "routes_json",
    "routes_text",
    "samples_csv",
    "write_evidence",
    "write_text",
]

RouteSnapshots = Mapping[str, Sequence[Mapping[str, Any]]]
"""Phase name (``before``, ``during``, ``after`` ...) -> `RouteTable.to_dict()` values."""

SAMPLE_COLUMNS = (
    "target",
    "protocol",
    "seq",
    "sent",
    "sent_utc",
    "received",
    "rtt_ms",
    "outcome",
    "ttl",
    "duplicates",
    "precise",
)


def samples_csv(samples: Iterable[Sample], secrets: Iterable[str | None] | None = None) -> str:
    """One CSV row per probe, in the given order; wall-clock seconds plus a UTC column."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(SAMPLE_COLUMNS)
    for s in samples:
        rtt = s.rtt_ms
        w.writerow(
            [
                s.target,
                s.protocol.value,
                s.seq,
                f"{s.sent:.6f}",
                _utc(s.sent),
                "" if s.received is None else f"{s.received:.6f}",
                "" if rtt is None else f"{rtt:.3f}",
                s.outcome.value,
                "" if s.ttl is None else s.ttl,
                s.duplicates,
                str(s.precise).lower(),
            ]
        )
    return redact(buf.getvalue(), secrets)


def route_table_from_dict(d: Mapping[str, Any]) -> RouteTable:
    """Rebuild a `RouteTable` from `RouteTable.to_dict()`; unknown path names become UNKNOWN."""
    entries = []
    for e in d.get("entries", []):
        try:
            path = PathKind(e.get("path", "unknown"))
        except ValueError:
            path = PathKind.UNKNOWN
        entries.append(
            RouteEntry(
                prefix=str(e["prefix"]),
                next_hop=str(e.get("next_hop", "")),
                path=path,
                source=str(e.get("source", "")),
                as_path=str(e.get("as_path", "")),
                active=bool(e.get("active", True)),
            )
        )
    return RouteTable(
        owner=str(d.get("owner", "?")),
        side=str(d.get("side", "?")),
        taken_at=float(d.get("taken_at", 0.0)),
        entries=entries,
    )


def routes_json(snapshots: RouteSnapshots, secrets: Iterable[str | None] | None = None) -> str:
    """The snapshots as indented JSON, phases in the order given."""
    data = {phase: [dict(t) for t in tables] for phase, tables in snapshots.items()}
    return json.dumps(redact_data(data, secrets), indent=2) + "\n"


def routes_text(snapshots: RouteSnapshots, secrets: Iterable[str | None] | None = None) -> str:
    """The snapshots as fixed-width tables, one block per phase and router."""
    blocks: list[str] = []
    for phase, tables in snapshots.items():
        blocks.append(f"== {phase} ==")
        if not tables:
            blocks.append("(no route tables)\n")
        for d in tables:
            table = route_table_from_dict(d)
            blocks.append(f"taken at {_utc(table.taken_at)}")
            blocks.append(table.as_text() + "\n")
    return redact("\n".join(blocks), secrets)


def write_text(path: Path, text: str, secrets: Iterable[str | None] | None = None) -> Path:
    """Write `text` atomically after scrubbing secrets; return `path`."""
    write_atomic(path, redact(text, secrets))
    return path


def write_evidence(
    run_dir: Path,
    samples: Sequence[Sample] = (),
    route_snapshots: RouteSnapshots | None = None,
    secrets: Iterable[str | None] | None = None,
) -> dict[str, str]:
    """Write samples.csv, routes.json and routes.txt into `run_dir`.

    Returns ``{kind: file name}`` for `DrillRecord.files` (names relative to `run_dir`).
    """
    frozen = tuple(secrets or ())
    files: dict[str, str] = {}
    if samples:
        write_text(run_dir / "samples.csv", samples_csv(samples, frozen), frozen)
        files["samples"] = "samples.csv"
    if route_snapshots:
        write_text(run_dir / "routes.json", routes_json(route_snapshots, frozen), frozen)
        write_text(run_dir / "routes.txt", routes_text(route_snapshots, frozen), frozen)
        files["routes"] = "routes.json"
        files["routes_text"] = "routes.txt"
    return files


def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
