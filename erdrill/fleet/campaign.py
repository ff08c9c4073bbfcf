"""Start a campaign over an inventory and wait for its result."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy

from erdrill.fleet.inventory import Circuit, Inventory
from erdrill.fleet.jobs import CONTROL_QUEUE, CampaignInput, CampaignResult, CircuitJob, Timings
from erdrill.fleet.workflows import FleetCampaign

__all__ = ["campaign_input", "new_campaign_id", "run_campaign"]


def campaign_input(
    inventory: Inventory,
    circuits: Sequence[Circuit],
    reports: Path,
    timings: Timings | None = None,
    concurrency: int | None = None,
) -> CampaignInput:
    """The campaign's jobs: each circuit's reports (and history) under `reports/<name>`."""
    t = timings or Timings()
    jobs = [
        CircuitJob(
            name=c.name,
            site=c.site,
            config=str(c.config),
            topology=str(c.topology) if c.topology else None,
            scenarios=c.scenarios,
            resources=c.resources.keys(),
            reports_dir=str((reports / c.name).resolve()),
            allow_disruption=c.allow_disruption,
            timings=t,
        )
        for c in circuits
    ]
    return CampaignInput(jobs, concurrency or inventory.concurrency)


def new_campaign_id() -> str:
    return (
        "erdrill-campaign-"
        + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        + f"-{time.time_ns() % 10**6:06d}"
    )


async def run_campaign(client: Client, inp: CampaignInput, campaign_id: str) -> CampaignResult:
    """Run the campaign workflow to its end."""
    return await client.execute_workflow(
        FleetCampaign.run,
        inp,
        id=campaign_id,
        task_queue=CONTROL_QUEUE,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )
