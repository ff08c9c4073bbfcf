"""Least privilege: the custom role a fault method needs, and the preflight that checks it.

`role_definition` is an Azure custom role (the JSON `az role definition create
--role-definition` takes: Name, IsCustom, Description, Actions, NotActions, DataActions,
NotDataActions, AssignableScopes) with exactly the actions of one fault method, from the
registry (core.fault_methods, which names its source); `plan=True` gives the read-only
role of a --plan or steady-state drill.

`missing_actions` reads the caller's permissions on the resource group (ARM's
`Permissions_ListForResourceGroup`, GET .../resourceGroups/{rg}/providers/
Microsoft.Authorization/permissions, api-version 2022-04-01) and says which of the
method's actions they do not grant: an action is granted when an `actions` pattern of one
permission matches it and no `notActions` pattern of the same permission does (patterns
are case-insensitive, `*` matches anything). The drill refuses before any write when one
is missing.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.core.rest import HttpRequest

from erdrill.core.config import AzureConfig
from erdrill.core.fault_methods import UNCONFIRMED_ACTIONS, method
from erdrill.targets.azure.arm import Arm

__all__ = [
    "AUTHORIZATION_API_VERSION",
    "granted",
    "missing_actions",
    "read_permissions",
    "role_definition",
]

AUTHORIZATION_API_VERSION = "2022-04-01"


def role_definition(
    fault_method: str, *, plan: bool = False, scope: str = "", name: str = ""
) -> dict[str, Any]:
    """The custom role (as `az role definition create` takes it) for one fault method."""
    spec = method(fault_method)
    actions = list(spec.plan_actions if plan else spec.actions)
    what = "read-only (--plan and steady state)" if plan else "the drill"
    unconfirmed = sorted(set(actions) & UNCONFIRMED_ACTIONS)
    note = (
        f" Action names not found in Microsoft's operations list (they follow the REST "
        f"path): {', '.join(unconfirmed)}."
        if unconfirmed
        else ""
    )
    return {
        "Name": name or f"erdrill {fault_method}{' plan' if plan else ''}",
        "IsCustom": True,
        "Description": (
            f"erdrill failover drill, fault method {fault_method}: {what}. Assign it on the "
            f"resource group of the circuit and gateways.{note}"
        ),
        "Actions": actions,
        "NotActions": [],
        "DataActions": [],
        "NotDataActions": [],
        "AssignableScopes": [
            scope or "/subscriptions/<subscription id>/resourceGroups/<resource group>"
        ],
    }


def _matches(action: str, patterns: Iterable[Any]) -> bool:
    low = action.lower()
    return any(isinstance(p, str) and fnmatch.fnmatchcase(low, p.lower()) for p in patterns)


def granted(action: str, permissions: Sequence[Mapping[str, Any]]) -> bool:
    """Whether one permission of the list grants `action` (and does not exclude it)."""
    return any(
        _matches(action, p.get("actions") or []) and not _matches(action, p.get("notActions") or [])
        for p in permissions
    )


def read_permissions(arm: Arm) -> list[dict[str, Any]]:
    """The caller's permissions on the configured resource group (one read, recorded)."""
    cfg: AzureConfig = arm.cfg
    url = (
        f"/subscriptions/{cfg.subscription_id}/resourceGroups/{cfg.resource_group}"
        f"/providers/Microsoft.Authorization/permissions?api-version={AUTHORIZATION_API_VERSION}"
    )

    def run() -> list[dict[str, Any]]:
        response = arm.client.send_request(HttpRequest("GET", url))
        if response.status_code != 200:
            raise HttpResponseError(response=response)
        body = response.json()
        value = body.get("value") if isinstance(body, dict) else None
        return [p for p in value or [] if isinstance(p, dict)]

    detail = f"resource group {cfg.resource_group} (Permissions_ListForResourceGroup)"
    return arm.call("permissions read", detail, run) or []


def missing_actions(arm: Arm, fault_method: str, *, plan: bool) -> list[str]:
    """The actions of the method (read-only ones for --plan) the caller is not granted."""
    spec = method(fault_method)
    permissions = read_permissions(arm)
    return [a for a in (spec.plan_actions if plan else spec.actions) if not granted(a, permissions)]
