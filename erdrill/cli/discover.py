"""`erdrill discover`: write a drill config from what a resource group holds (read-only)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import click

from erdrill.core.errors import ConfigError
from erdrill.targets.azure.discover_run import discover_config

__all__ = ["discover"]


@click.command("discover")
@click.option("--subscription", "subscription_id", required=True, help="Subscription id (GUID).")
@click.option("--resource-group", required=True, help="The resource group of the circuit.")
@click.option("--circuit", default=None, help="The circuit, when the group has several.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the config here (default: print it).",
)
@click.option(
    "--cloud",
    type=click.Choice(["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"]),
    default="AzureCloud",
    show_default=True,
)
@click.option("--tenant-id", default=None, help="The Microsoft Entra tenant to sign in to.")
@click.option(
    "--lab-topology",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Discover the lab's Azure face instead of Azure (the lab is brought up if needed).",
)
def discover(
    subscription_id: str,
    resource_group: str,
    circuit: str | None,
    output: Path | None,
    cloud: str,
    tenant_id: str | None,
    lab_topology: Path | None,
) -> None:
    """Read the circuit, gateways, connections, NICs and learned prefixes (no writes) and
    write a drill config that `pytest features/ --target azure` runs."""
    # azure-identity logs every credential it tried (many lines) before failing; the
    # failure itself is erdrill's one line
    logging.getLogger("azure").addHandler(logging.NullHandler())
    text = discover_config(
        subscription_id,
        resource_group,
        circuit,
        cloud=cloud,
        tenant_id=tenant_id,
        lab_topology=lab_topology,
    )
    if output is None:
        click.echo(text, nl=False)
        return
    with _writing(output):
        output.write_text(text, encoding="utf-8")
    click.echo(f"discover: wrote {output}", err=True)


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise ConfigError(
            str(path), "-o", exc.strerror or str(exc), "give a writable path"
        ) from None
