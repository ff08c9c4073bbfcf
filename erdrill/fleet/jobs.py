"""What the fleet's workflows and activities pass each other: plain dataclasses (JSON on
the wire, safe to import inside the workflow sandbox), the task queues and the timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CONTROL_QUEUE",
    "CampaignInput",
    "CampaignResult",
    "CircuitJob",
    "CircuitResult",
    "DrillRun",
    "LockRequest",
    "Queued",
    "Timings",
    "UndoJob",
    "UndoReport",
    "lock_id",
    "site_queue",
]

CONTROL_QUEUE = "erdrill-control"  # workflows, locks and undo: every worker serves it


def site_queue(site: str) -> str:
    """The task queue of a site's drills (probes must run inside the site's network)."""
    return f"erdrill-site-{site}"


def lock_id(resource: str) -> str:
    """The workflow id of a shared resource's lock (one per resource, across campaigns)."""
    return f"erdrill-lock-{resource}"


@dataclass
class Timings:
    """How long the fleet waits for what (short in tests, the defaults for real fleets)."""

    heartbeat_s: float = 1.0  # the drill activity heartbeats this often
    heartbeat_timeout_s: float = 10.0  # no heartbeat this long: the drill host is lost
    queue_timeout_s: float = 900.0  # no worker of the site took the drill this long
    drill_timeout_s: float = 3600.0
    restore_wait_s: float = 60.0  # after the undo, ExpressRoute must carry traffic within


@dataclass
class CircuitJob:
    """One circuit's drill in a campaign (paths as the site's worker sees them)."""

    name: str
    site: str
    config: str
    topology: str | None
    scenarios: str
    resources: list[str]
    reports_dir: str
    allow_disruption: bool = False
    timings: Timings = field(default_factory=Timings)


@dataclass
class CampaignInput:
    circuits: list[CircuitJob]
    concurrency: int = 1


@dataclass
class DrillRun:
    """What the drill activity saw: the drill's exit code and its records' figures."""

    exit_code: int
    host: str
    records: list[dict[str, Any]]
    log_tail: str = ""


@dataclass
class UndoJob:
    entries: list[dict[str, Any]]
    allow_disruption: bool
    restore_wait_s: float


@dataclass
class UndoReport:
    undone: list[str]
    expressroute: bool | None  # None: no lab to look at (an Azure circuit)
    paths: dict[str, Any] | None
    host: str
    at: float = 0.0  # when it was done (and ExpressRoute confirmed), seconds since the epoch


@dataclass
class CircuitResult:
    """A circuit's part of the campaign result."""

    name: str
    site: str
    verdict: str  # passed, limit exceeded, no failover, aborted, harness error, ...
    exit_code: int
    started_at: str
    finished_at: str
    records: list[dict[str, Any]] = field(default_factory=list)
    waited: list[str] = field(default_factory=list)  # "resource held by holder"
    host_lost: bool = False
    fault_undone: bool | None = None
    undo: UndoReport | None = None
    message: str = ""


@dataclass
class CampaignResult:
    campaign_id: str
    circuits: list[CircuitResult]


@dataclass
class LockRequest:
    resource: str
    requester: str  # the workflow id to signal when granted
    label: str  # who is waiting, in words (told to those queued behind it)


@dataclass
class Queued:
    resource: str
    holder: str
