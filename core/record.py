"""The drill record: one JSON document per run, written atomically, kept for audit."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.outcomes import Category, Phase, Verdict

__all__ = ["SCHEMA", "DrillRecord", "PathsAt", "TransitionFigures", "load", "save", "write_atomic"]

SCHEMA = "erdrill.drill/1"


class TransitionFigures(BaseModel):
    """Convergence figures for one transition (failover or failback)."""

    model_config = ConfigDict(extra="allow")

    loss_derived_ms: float | None = None
    outage_ms: float | None = None
    first_route_ms: float | None = None
    sent: int = 0
    lost: int = 0
    late: int = 0
    duplicates: int = 0
    recovered: bool = False
    per_target: dict[str, dict[str, Any]] = Field(default_factory=dict)


class PathsAt(BaseModel):
    forward: str
    return_: str = Field(alias="return")

    model_config = ConfigDict(populate_by_name=True)


class DrillRecord(BaseModel):
    """Everything a drill measured. Fields stay optional so an aborted drill still writes."""

    schema_: str = Field(default=SCHEMA, alias="schema")
    run_id: str
    target: str
    fault: str | None = None
    scenario: str = ""
    started_at: str
    finished_at: str | None = None
    verdict: Verdict = Verdict.ABORTED
    phase: Phase = Phase.SETUP  # the last phase the drill entered
    failure_category: Category | None = None  # why it did not pass
    message: str = ""
    operator: str = ""
    host: str = ""
    sampling_interval_ms: float | None = None
    probe_rate: int | None = None
    failover: TransitionFigures | None = None
    failback: TransitionFigures | None = None
    paths: dict[str, PathsAt] = Field(default_factory=dict)
    limits: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    ground_truth: dict[str, Any] | None = None
    route_snapshots: dict[str, list[dict[str, Any]]] = Field(default_factory=dict)
    findings: list[str] = Field(default_factory=list)
    api_calls: list[dict[str, Any]] = Field(default_factory=list)  # the target's API timeline
    information: list[str] = Field(default_factory=list)  # noted, never a failure
    watchdog: dict[str, Any] | None = None  # set when the undo had to take the second path
    events: list[dict[str, Any]] = Field(default_factory=list)  # requested/effective instants
    transitions: dict[str, dict[str, Any]] = Field(default_factory=dict)  # window, reached
    files: dict[str, str] = Field(default_factory=dict)  # attachments beside drill.json

    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


def write_atomic(path: Path, content: str | bytes, *, mode: int | None = None) -> None:
    """Write a file so readers see the old or the new content, never half of it.

    Text is written as UTF-8; `mode` is set before any byte is written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save(record: DrillRecord, drills_dir: Path) -> Path:
    """Write `<drills_dir>/<run_id>/drill.json` atomically and return its path."""
    path = drills_dir / record.run_id / "drill.json"
    write_atomic(path, record.to_json() + "\n")
    return path


def load(path: Path) -> DrillRecord:
    return DrillRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
