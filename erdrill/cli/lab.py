"""`erdrill lab ...`: build, inspect, break and repair the lab."""

from __future__ import annotations

import json
from pathlib import Path

import click

from erdrill.lab.faults import FAULTS
from erdrill.lab.lab import Lab
from erdrill.lab.topology import load_topology

__all__ = ["down", "fault", "lab", "restore", "status", "up"]


@click.group()
@click.option(
    "--prefix",
    envvar="ERDRILL_LAB_PREFIX",
    default="erd-lab",
    show_default=True,
    help="Which lab, by namespace prefix (also $ERDRILL_LAB_PREFIX).",
)
@click.pass_context
def lab(ctx: click.Context, prefix: str) -> None:
    """The emulated ExpressRoute + VPN network (Linux namespaces, real daemons)."""
    ctx.obj = prefix


@lab.command()
@click.option(
    "--topology",
    "topology_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Topology file (YAML); default: the reference architecture.",
)
@click.option(
    "--timeout", default=30.0, show_default=True, help="Seconds to wait for steady state."
)
def up(topology_file: Path | None, timeout: float) -> None:
    """Build the lab and wait until BGP, the IPsec SA and traffic are up (idempotent).

    The lab's prefix is the topology's own.
    """
    lab_ = Lab(load_topology(topology_file))
    lab_.up(timeout=timeout, expect_expressroute=False)
    st = lab_.status()
    click.echo(
        f"lab {st['name']} ({st['prefix']}) is up: paths {st['paths']['forward']} forward, "
        f"{st['paths']['return']} return; run folder {st['run_dir']}"
    )


@lab.command()
@click.pass_obj
def down(prefix: str) -> None:
    """Remove every namespace and process of the lab (also after a crash)."""
    Lab.current(prefix).down()
    click.echo(f"lab {prefix} is down")


@lab.command()
@click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")
@click.pass_obj
def status(prefix: str, as_json: bool) -> None:
    """Whether the lab is up, BGP sessions, the IPsec SA and the path each way."""
    st = Lab.current(prefix).status()
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    if not st["up"]:
        click.echo(f"lab {prefix} is down")
        return
    click.echo(f"lab {st['name']} ({st['prefix']}) is up ({st['run_dir']})")
    for name, state in st["bgp"].items():
        click.echo(f"  BGP {name:<22} {state}")
    click.echo(f"  IPsec SA                   {st['ipsec']}")
    for name, state in st["tunnels"].items():
        click.echo(f"  tunnel {name:<34} {state}")
    click.echo(f"  path forward (on-prem -> Azure) {st['paths']['forward']}")
    click.echo(f"  path return  (Azure -> on-prem) {st['paths']['return']}")
    for node, p in st["workloads"].items():
        click.echo(f"  {node:<18} forward {p['forward']:<24} return {p['return']}")
    if st["faults"]:
        click.echo(f"  active faults: {', '.join(st['faults'])}")


@lab.command(
    help="Inject a fault KIND (or KIND+KIND to combine); `erdrill lab restore` undoes it. "
    f"Kinds: {', '.join(FAULTS)}."
)
@click.argument("kind")
@click.pass_obj
def fault(prefix: str, kind: str) -> None:
    injected = Lab.current(prefix).inject(kind, by="erdrill lab fault")
    click.echo(f"fault {injected.name} injected: {injected.kind.description}")


@lab.command()
@click.argument("kind", required=False)
@click.option("--no-wait", is_flag=True, help="Do not wait for the steady state.")
@click.pass_obj
def restore(prefix: str, kind: str | None, no_wait: bool) -> None:
    """Undo one fault, or every active fault, and wait for ExpressRoute to carry traffic."""
    undone = Lab.current(prefix).restore(kind, wait=0 if no_wait else 30.0)
    click.echo(f"restored: {', '.join(undone) or 'nothing was active'}")
