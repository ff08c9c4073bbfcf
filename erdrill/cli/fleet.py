"""`erdrill fleet`: drill a fleet of circuits on Temporal (run, worker, schedule, status)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
from temporalio.client import Client, TLSConfig

from erdrill.core.errors import ConfigError
from erdrill.fleet.campaign import campaign_input, new_campaign_id, run_campaign
from erdrill.fleet.inventory import Inventory, load_inventory
from erdrill.fleet.jobs import Timings
from erdrill.fleet.results import (
    campaign_exit_code,
    merge_allure,
    result_lines,
    status_lines,
    write_result,
)
from erdrill.fleet.schedule import create_schedule
from erdrill.fleet.worker import connect, local_server, serve

__all__ = ["fleet"]

T = TypeVar("T")
INVENTORY = click.argument("inventory", type=click.Path(path_type=Path))
REPORTS = click.option(
    "--reports", type=click.Path(path_type=Path), default=Path("reports/fleet"),
    show_default=True, help="Where each circuit's reports and history go (<dir>/<circuit>/).",
)  # fmt: skip


def _temporal_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for opt in reversed([
        click.option("--temporal", metavar="HOST:PORT", help="A Temporal server (default: start a local dev server)."),
        click.option("--namespace", default="default", show_default=True),
        click.option("--tls", is_flag=True, help="Connect with TLS (system roots)."),
        click.option("--tls-cert", type=click.Path(exists=True, path_type=Path), help="Client certificate (mTLS)."),
        click.option("--tls-key", type=click.Path(exists=True, path_type=Path), help="Client key (mTLS)."),
        click.option("--tls-ca", type=click.Path(exists=True, path_type=Path), help="Server CA bundle."),
    ]):  # fmt: skip
        f = opt(f)
    return f


def _tls(o: dict[str, Any]) -> TLSConfig | bool:
    if not (o["tls"] or o["tls_cert"] or o["tls_ca"]):
        return False

    def read(p: Path | None) -> bytes | None:
        return p.read_bytes() if p else None

    return TLSConfig(
        server_root_ca_cert=read(o["tls_ca"]),
        client_cert=read(o["tls_cert"]),
        client_private_key=read(o["tls_key"]),
    )


async def _client(o: dict[str, Any]) -> Client:
    if not o["temporal"]:
        raise ConfigError("--temporal", "temporal", "this command needs a server", "give HOST:PORT")
    return await connect(o["temporal"], o["namespace"], _tls(o))


def _run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


@click.group()
def fleet() -> None:
    """Drill a fleet of circuits on Temporal (see README "Drill a fleet")."""


@fleet.command()
@INVENTORY
@_temporal_options
@REPORTS
@click.option(
    "--concurrency", type=click.IntRange(1, 64), help="Drills at once (default: the inventory's)."
)
@click.option("--only", multiple=True, metavar="NAME", help="Drill only this circuit (repeatable).")
@click.option("--heartbeat-timeout", type=float, default=10.0, show_default=True,
              help="Seconds without a drill heartbeat before its host counts as lost.")  # fmt: skip
@click.pass_context
def run(ctx: click.Context, /, inventory: Path, reports: Path, concurrency: int | None,
        only: tuple[str, ...], heartbeat_timeout: float, **o: Any) -> None:  # fmt: skip
    """Drill every circuit of INVENTORY (or --only some) in one campaign; print its result.

    Without --temporal a local dev server and workers for every site run in this process
    and stop at the end; with it, `erdrill fleet worker` must serve the sites."""
    inv = load_inventory(inventory)
    circuits = inv.select(only)
    inp = campaign_input(
        inv, circuits, reports, Timings(heartbeat_timeout_s=heartbeat_timeout), concurrency
    )
    campaign_id = new_campaign_id()

    def started() -> None:
        click.echo(f"erdrill fleet: campaign {campaign_id}: {len(circuits)} circuit(s), "
                   f"{inp.concurrency} at once")  # fmt: skip

    async def go() -> Any:
        if o["temporal"]:
            client = await _client(o)
            started()
            return await run_campaign(client, inp, campaign_id)
        async with local_server() as client:
            started()
            stop = asyncio.Event()
            served = asyncio.create_task(serve(client, sorted({c.site for c in circuits}), stop))
            try:
                return await run_campaign(client, inp, campaign_id)
            finally:
                stop.set()
                await served

    result = _run(go())
    path = write_result(result, reports)
    for line in result_lines(result, status_lines(circuits, reports, inv.interval_days)):
        click.echo(line)
    allure = merge_allure(result, reports)
    click.echo(f"erdrill fleet: its Allure results, by circuit: erdrill report --results {allure}")
    click.echo(f"erdrill fleet: campaign result in {path}")
    ctx.exit(campaign_exit_code(result))


@fleet.command()
@_temporal_options
@click.option(
    "--site",
    "sites",
    multiple=True,
    required=True,
    help="A site whose drills this host runs (repeatable).",
)
@click.option(
    "--no-control", is_flag=True, help="Do not serve the control queue (workflows, locks, undo)."
)
def worker(sites: tuple[str, ...], no_control: bool, **o: Any) -> None:
    """Serve a site's drills (and the control queue) until SIGTERM or SIGINT."""

    async def go() -> None:
        client = await _client(o)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        click.echo(f"erdrill fleet: worker for site(s) {', '.join(sites)} on {o['temporal']}")
        await serve(client, list(sites), stop, control=not no_control)

    _run(go())


@fleet.command()
@INVENTORY
@_temporal_options
@REPORTS
@click.option("--id", "schedule_id", default="erdrill-fleet", show_default=True)
@click.option("--every-days", type=float, help="Interval (default: the inventory's interval_days).")
def schedule(
    inventory: Path, reports: Path, schedule_id: str, every_days: float | None, **o: Any
) -> None:
    """Create a Temporal Schedule that runs the campaign every interval (overlap: skip)."""
    inv: Inventory = load_inventory(inventory)
    inp = campaign_input(inv, inv.circuits, reports)
    every = timedelta(days=every_days or inv.interval_days)

    async def go() -> None:
        await create_schedule(await _client(o), schedule_id, inp, every, note=str(inventory))

    _run(go())
    click.echo(f"erdrill fleet: schedule {schedule_id} every {every}; trigger, pause and backfill "
               f"with `temporal schedule trigger --schedule-id {schedule_id}` ...")  # fmt: skip


@fleet.command()
@INVENTORY
@REPORTS
def status(inventory: Path, reports: Path) -> None:
    """Every circuit's last drill and whether it is OVERDUE (from its reports' history)."""
    inv = load_inventory(inventory)
    for line in status_lines(inv.circuits, reports, inv.interval_days):
        click.echo(line)
