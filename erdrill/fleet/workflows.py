"""The campaign and the per-circuit drill, as Temporal workflows (deterministic: no I/O,
no clock but the workflow's, nothing heavier than the dataclasses of `jobs`).

A circuit's drill takes its shared resources' locks, runs the drill activity on a worker
of its site and records what it ran. If that worker stops heartbeating (the host died),
the fault the drill reported from its journal is undone by the undo activity on the
control queue, which any worker serves, and the circuit is recorded as aborted, host
lost; the campaign goes on with the others.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ChildWorkflowError, TimeoutError, TimeoutType

from erdrill.fleet.jobs import (
    CONTROL_QUEUE,
    CampaignInput,
    CampaignResult,
    CircuitJob,
    CircuitResult,
    DrillRun,
    LockRequest,
    Queued,
    UndoJob,
    UndoReport,
    lock_id,
    site_queue,
)

__all__ = ["VERDICTS", "CircuitDrill", "FleetCampaign"]

# The drill's exit code in words (erdrill/core/exitcodes.py).
VERDICTS = {
    0: "passed",
    10: "limit exceeded",
    11: "no failover",
    12: "aborted",
    13: "harness error",
    14: "locked",
    15: "open fault",
    16: "not restored",
}
_SHORT = timedelta(seconds=60)
_LOST = (TimeoutType.HEARTBEAT, TimeoutType.START_TO_CLOSE)


@workflow.defn(name="CircuitDrill")
class CircuitDrill:
    """One circuit's drill: locks, the drill on its site, the undo if its host dies."""

    def __init__(self) -> None:
        self.granted: set[str] = set()
        self.waited: dict[str, str] = {}
        self.journal: list[dict[str, Any]] = []
        self.phase = "new"

    @workflow.signal(name="granted")
    def granted_signal(self, resource: str) -> None:
        self.granted.add(resource)

    @workflow.signal(name="queued")
    def queued(self, q: Queued) -> None:
        self.waited[q.resource] = q.holder

    @workflow.signal(name="journal")
    def journal_signal(self, entries: list[dict[str, Any]]) -> None:
        """The drill's open journal entries, sent as it writes and clears them."""
        self.journal = entries

    @workflow.query
    def status(self) -> dict[str, Any]:
        return {"phase": self.phase, "waiting_for": self.waited, "journal": self.journal}

    @workflow.run
    async def run(self, job: CircuitJob) -> CircuitResult:
        me = workflow.info().workflow_id
        asked: list[str] = []
        started = workflow.now().isoformat()
        try:
            for resource in sorted(job.resources):
                self.phase = f"waiting for {resource}"
                asked.append(resource)
                label = f"circuit {job.name} ({me})"
                await workflow.execute_activity(
                    "request_lock",
                    LockRequest(resource, me, label),
                    task_queue=CONTROL_QUEUE,
                    start_to_close_timeout=_SHORT,
                )
                await workflow.wait_condition(lambda r=resource: r in self.granted)  # type: ignore[misc]
            self.phase = "drilling"
            result = await self._drill(job, started)
        finally:
            for resource in reversed(asked):
                await workflow.get_external_workflow_handle(lock_id(resource)).signal("release", me)
        result.waited = [f"{r} held by {h}" for r, h in sorted(self.waited.items())]
        self.phase = "done"
        return result

    async def _drill(self, job: CircuitJob, started: str) -> CircuitResult:
        t = job.timings
        try:
            run: DrillRun = await workflow.execute_activity(
                "drill_circuit",
                job,
                task_queue=site_queue(job.site),
                result_type=DrillRun,
                schedule_to_start_timeout=timedelta(seconds=t.queue_timeout_s),
                start_to_close_timeout=timedelta(seconds=t.drill_timeout_s),
                heartbeat_timeout=timedelta(seconds=t.heartbeat_timeout_s),
                retry_policy=RetryPolicy(maximum_attempts=1),  # a drill is never re-run blind
            )
        except ActivityError as exc:
            cause = exc.cause
            if isinstance(cause, TimeoutError) and cause.type in _LOST:
                return await self._host_lost(job, started, cause)
            return self._result(job, started, 13, message=f"the drill did not run: {cause or exc}")
        return self._result(job, started, run.exit_code, records=run.records, host=run.host)

    async def _host_lost(self, job: CircuitJob, started: str, cause: TimeoutError) -> CircuitResult:
        """The drill host stopped answering: undo what it reported, from the control queue."""
        entries = self.journal or _journal_of(cause.last_heartbeat_details)
        if not entries:
            return self._result(
                job, started, 12, host_lost=True,
                message="aborted: drill host lost; no fault was in place (nothing to undo)",
            )  # fmt: skip
        self.phase = "undoing the fault of a lost drill host"
        wait = job.timings.restore_wait_s
        undo: UndoReport = await workflow.execute_activity(
            "undo_reported",
            UndoJob(entries, job.allow_disruption, wait),
            task_queue=CONTROL_QUEUE,
            result_type=UndoReport,
            start_to_close_timeout=timedelta(seconds=wait + 120),
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)),
        )
        er = "ExpressRoute carries traffic" if undo.expressroute else "ExpressRoute NOT confirmed"
        code = 16 if undo.expressroute is False else 12
        return self._result(
            job, started, code, host_lost=True, undone=True, undo=undo,
            message=f"aborted: drill host lost; fault undone on {undo.host}: "
            f"{'; '.join(undo.undone) or 'nothing was left'}; {er}",
        )  # fmt: skip

    def _result(
        self,
        job: CircuitJob,
        started: str,
        code: int,
        *,
        records: list[dict[str, Any]] | None = None,
        host: str = "",
        message: str = "",
        host_lost: bool = False,
        undone: bool | None = None,
        undo: UndoReport | None = None,
    ) -> CircuitResult:
        verdict = VERDICTS.get(code, "harness error")
        if not message and code:
            message = next((str(r["message"]) for r in records or [] if r.get("message")), "")
            message = message or f"the drill exited {code} on {host or '?'}"
        return CircuitResult(
            name=job.name, site=job.site, verdict=verdict, exit_code=code, started_at=started,
            finished_at=workflow.now().isoformat(), records=records or [], host_lost=host_lost,
            fault_undone=undone, undo=undo, message=message,
        )  # fmt: skip


def _journal_of(details: Any) -> list[dict[str, Any]]:
    """The journal entries of the drill's last heartbeat (the signal may not have arrived)."""
    for d in reversed(list(details or [])):
        if isinstance(d, dict) and isinstance(d.get("journal"), list):
            return [e for e in d["journal"] if isinstance(e, dict)]
    return []


@workflow.defn(name="FleetCampaign")
class FleetCampaign:
    """Every circuit of the campaign, at most `concurrency` at once. A free slot goes to
    the first circuit that shares nothing with those drilling (the locks keep other
    campaigns apart; this keeps a slot from waiting on a lock its own campaign holds)."""

    @workflow.run
    async def run(self, c: CampaignInput) -> CampaignResult:
        me = workflow.info().workflow_id
        pending = list(c.circuits)
        running: dict[asyncio.Task[CircuitResult], CircuitJob] = {}
        done: dict[str, CircuitResult] = {}
        while pending or running:
            busy = {r for job in running.values() for r in job.resources}
            free = [j for j in pending if not busy & set(j.resources)]
            while free and len(running) < c.concurrency:
                job = free.pop(0)
                pending.remove(job)
                busy |= set(job.resources)
                free = [j for j in free if not busy & set(j.resources)]
                running[asyncio.create_task(self._one(me, job))] = job
            finished, _ = await workflow.wait(list(running), return_when=asyncio.FIRST_COMPLETED)
            for task in finished:
                done[running.pop(task).name] = task.result()
        return CampaignResult(me, [done[j.name] for j in c.circuits])

    async def _one(self, me: str, job: CircuitJob) -> CircuitResult:
        started = workflow.now().isoformat()
        try:
            return await workflow.execute_child_workflow(
                CircuitDrill.run, job, id=f"{me}.{job.name}", task_queue=CONTROL_QUEUE
            )
        except ChildWorkflowError as exc:
            return CircuitResult(
                job.name, job.site, "harness error", 13, started,
                workflow.now().isoformat(), message=f"{exc.cause or exc}",
            )  # fmt: skip
