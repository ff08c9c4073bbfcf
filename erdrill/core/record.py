"""The drill record: one JSON document per run, written atomically, kept for audit."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from erdrill.core.files import write_atomic
from erdrill.core.outcomes import Category, Phase, Verdict

__all__ = [
    "SCHEMA",
    "DrillRecord",
    "PathsAt",
    "RouteSpecific",
    "SessionEnd",
    "SessionResult",
    "TransitionFigures",
    "load",
    "save",
]

SCHEMA = "erdrill.drill/1"


class RouteSpecific(BaseModel):
    """RFC 6412 route-specific convergence: the minimum and maximum across a group of flows.

    A group is every flow (``all``), one protocol (``icmp``, ``tcp``) or one destination
    (``10.1.1.4``); with one flow in the group the minimum and the maximum are its figure.
    """

    flows: int
    loss_derived_min_ms: float
    loss_derived_max_ms: float
    outage_min_ms: float
    outage_max_ms: float
    fastest: str  # the flow with the least loss-derived time
    slowest: str  # the flow with the most


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
    route_specific_min_ms: float | None = None
    route_specific_max_ms: float | None = None
    route_specific: dict[str, RouteSpecific] = Field(default_factory=dict)  # by group


class SessionEnd(enum.StrEnum):
    """How a long-lived session ended up: it survived, or why it broke."""

    SURVIVED = "survived"
    NOT_OPENED = "not-opened"  # the connection never opened (no SYN-ACK, refused)
    RESET = "reset"  # an RST came (ECONNRESET)
    TIMEOUT = "timeout"  # data unacknowledged past the user timeout (ETIMEDOUT)
    CLOSED = "closed"  # the peer closed it (EOF)
    STALLED = "stalled"  # still open at the end, but its data never came back
    ERROR = "error"  # another socket error, or echoed data that did not match


class SessionResult(BaseModel):
    """One long-lived TCP session opened before the fault and checked after it.

    `stall_ms` is the longest time without echoed data (between two echoes, or from the
    last echo to the break or the end): at least one message interval when nothing stalls.
    `phase` says where the session broke (steady-state, failover, failback), if it did.
    """

    model_config = ConfigDict(validate_assignment=True)

    name: str
    address: str
    port: int
    end: SessionEnd
    reason: str = ""  # in words, with the socket error
    opened_at: float | None = None
    broken_at: float | None = None
    phase: str | None = None
    interval_ms: float
    stall_ms: float | None = None
    stall_from: float | None = None  # the last echo before the longest stall
    messages_sent: int = 0
    messages_echoed: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    rtt_max_ms: float | None = None

    @property
    def survived(self) -> bool:
        return self.end is SessionEnd.SURVIVED


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
    scenario: str = ""  # the Gherkin title (an outline's row filled in)
    feature: str = ""  # the feature file it comes from (features/lab_faults.feature)
    example: dict[str, str] = Field(default_factory=dict)  # the outline row's values
    tags: list[str] = Field(default_factory=list)  # the scenario's tags (misconfigured, ...)
    checks: list[str] = Field(default_factory=list)  # the scenario's Then steps that held
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
    # phase -> workload -> {"forward": "expressroute/primary", "return": ...}: which link or
    # VPN instance carries each flow (targets that can tell: the lab)
    flow_paths: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)
    findings: list[str] = Field(default_factory=list)
    api_calls: list[dict[str, Any]] = Field(default_factory=list)  # the target's API timeline
    information: list[str] = Field(default_factory=list)  # noted, never a failure
    watchdog: dict[str, Any] | None = None  # set when the undo had to take the second path
    events: list[dict[str, Any]] = Field(default_factory=list)  # requested/effective instants
    transitions: dict[str, dict[str, Any]] = Field(default_factory=dict)  # window, reached
    sessions: list[SessionResult] = Field(default_factory=list)  # long-lived TCP sessions
    files: dict[str, str] = Field(default_factory=dict)  # attachments beside drill.json

    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=True)

    def to_json(self) -> str:
        return self.model_dump_json(by_alias=True, indent=2)


def save(record: DrillRecord, drills_dir: Path) -> Path:
    """Write `<drills_dir>/<run_id>/drill.json` atomically and return its path."""
    path = drills_dir / record.run_id / "drill.json"
    write_atomic(path, record.to_json() + "\n")
    return path


def load(path: Path) -> DrillRecord:
    return DrillRecord.model_validate(json.loads(path.read_text(encoding="utf-8")))
