"""The fleet's activities: a circuit's drill on its site (the installed features run by
pytest, `erdrill drill`, in a child process), the undo of a lost host's fault from the
control queue, and asking for a resource's lock. Heavy imports live here, never in the
workflow modules."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from erdrill.core import journal
from erdrill.fleet.jobs import (
    CONTROL_QUEUE,
    CircuitJob,
    DrillRun,
    LockRequest,
    UndoJob,
    UndoReport,
    lock_id,
)

__all__ = ["FleetActivities", "record_summary"]

_JOURNAL_POLL_S = 0.2  # how soon a new journal entry reaches the workflow


def record_summary(rec: dict[str, Any]) -> dict[str, Any]:
    """A drill record's figures for the campaign result: verdict, figures vs limits, findings."""

    def figures(name: str) -> dict[str, Any]:
        t = rec.get(name) or {}
        return {k: t.get(k) for k in ("outage_ms", "loss_derived_ms", "recovered")}

    return {
        "run_id": rec.get("run_id"),
        "scenario": rec.get("scenario"),
        "fault": rec.get("fault"),
        "verdict": rec.get("verdict"),
        "category": rec.get("failure_category"),
        "message": rec.get("message") or "",
        "started_at": rec.get("started_at"),
        "finished_at": rec.get("finished_at"),
        "failover": figures("failover"),
        "failback": figures("failback"),
        "limits": rec.get("limits") or {},
        "findings": [f.get("id") for f in rec.get("findings") or [] if isinstance(f, dict)],
        "labels": rec.get("labels") or {},
    }


def _records(drills: Path, before: set[str]) -> list[dict[str, Any]]:
    out = []
    for d in sorted(drills.glob("*/drill.json")):
        if d.parent.name in before:
            continue
        with contextlib.suppress(OSError, json.JSONDecodeError):
            out.append(record_summary(json.loads(d.read_text())))
    return out


class FleetActivities:
    """The activities of one worker; `client` signals workflows and starts lock workflows."""

    def __init__(self, client: Client) -> None:
        self.client = client

    @activity.defn
    async def request_lock(self, req: LockRequest) -> None:
        """Queue for a resource's lock, starting its lock workflow if none runs."""
        await self.client.start_workflow(
            "ResourceLock",
            id=lock_id(req.resource),
            task_queue=CONTROL_QUEUE,
            start_signal="acquire",
            start_signal_args=[req],
        )

    @activity.defn
    async def drill_circuit(self, job: CircuitJob) -> DrillRun:
        """Run the circuit's scenarios; report its journal entries as they are written."""
        home = Path(job.reports_dir)
        drills = home / "reports" / "drills"
        drills.mkdir(parents=True, exist_ok=True)
        before = {p.name for p in drills.iterdir()}
        argv = [sys.executable, "-m", "erdrill.cli", "drill", "-m", job.scenarios]
        argv += ["--drill-config", job.config]
        if job.topology:
            argv += ["--lab-topology", job.topology]
        if job.allow_disruption:
            argv.append("--allow-disruption")
        info = activity.info()
        log = home / f"{info.workflow_id}.log"
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=home, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
            try:
                await self._watch(proc, job.timings.heartbeat_s)
            except asyncio.CancelledError:
                proc.send_signal(signal.SIGINT)  # the drill undoes its fault on the way out
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(proc.wait(), 120)
                raise
        tail = log.read_text(errors="replace")[-3000:]
        code = proc.returncode if proc.returncode is not None else 13
        return DrillRun(code, socket.gethostname(), _records(drills, before), tail)

    async def _watch(self, proc: asyncio.subprocess.Process, every: float) -> None:
        """Heartbeat, and signal the workflow each change of the drill's open journal entries."""
        info = activity.info()
        handle = self.client.get_workflow_handle(str(info.workflow_id), run_id=info.workflow_run_id)
        sent: list[dict[str, Any]] = []
        beat = 0.0
        while proc.returncode is None:
            entries = [e for e in journal.open_entries() if e.get("pid") == proc.pid]
            if entries != sent:
                await handle.signal("journal", entries)
                sent = entries
            beat -= _JOURNAL_POLL_S
            if beat <= 0:
                activity.heartbeat({"journal": sent, "pid": proc.pid, "host": socket.gethostname()})
                beat = every
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(proc.wait(), _JOURNAL_POLL_S)

    @activity.defn
    async def undo_reported(self, job: UndoJob) -> UndoReport:
        """Undo the journal entries a lost drill reported and wait for ExpressRoute, in a
        fresh process (`python -I -m erdrill.fleet.undo`: netlink helpers fork, which a
        worker's threads make unsafe)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-m", "erdrill.fleet.undo",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate(json.dumps(dataclasses.asdict(job)).encode())
        if proc.returncode != 0:
            why = (err or out).decode(errors="replace").strip().splitlines()
            raise ApplicationError(f"undo failed: {why[-1] if why else proc.returncode}")
        report = json.loads(out)
        return UndoReport(**report)
