"""`erdrill role`: the least-privilege Azure custom role for one fault method."""

from __future__ import annotations

import json

import click

from erdrill.core.fault_methods import METHOD_NAMES
from erdrill.targets.azure.role import role_definition

__all__ = ["role"]


@click.command("role")
@click.option(
    "--fault-method",
    type=click.Choice(METHOD_NAMES),
    required=True,
    help="The [azure] fault_method the role is for.",
)
@click.option("--plan", is_flag=True, help="The read-only role of --plan and steady-state drills.")
@click.option(
    "--scope",
    default="",
    help="AssignableScopes: /subscriptions/<id>/resourceGroups/<group> (else a placeholder).",
)
@click.option("--name", default="", help="The role's Name (default: erdrill <method>).")
def role(fault_method: str, plan: bool, scope: str, name: str) -> None:
    """Print an Azure custom role definition (JSON) with exactly the actions the fault
    method needs: `az role definition create --role-definition @role.json`."""
    click.echo(
        json.dumps(role_definition(fault_method, plan=plan, scope=scope, name=name), indent=2)
    )
