"""`erdrill fleet schedule`: a Temporal Schedule that starts the inventory's campaign every
interval (overlap policy skip: a campaign still running makes the next one wait its turn
by being skipped). Pause, trigger and backfill are Temporal's own (`temporal schedule`)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)

from erdrill.fleet.jobs import CONTROL_QUEUE, CampaignInput
from erdrill.fleet.workflows import FleetCampaign

__all__ = ["create_schedule"]


async def create_schedule(
    client: Client, schedule_id: str, inp: CampaignInput, every: timedelta, note: str = ""
) -> ScheduleHandle:
    """Create the Schedule; its campaigns are named `<schedule_id>-<time>` by Temporal."""
    return await client.create_schedule(
        schedule_id,
        Schedule(
            action=ScheduleActionStartWorkflow(
                FleetCampaign.run, inp, id=schedule_id, task_queue=CONTROL_QUEUE
            ),
            spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
            policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
            state=ScheduleState(note=note or "erdrill fleet campaign"),
        ),
    )
