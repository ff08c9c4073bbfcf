"""`erdrill discover` end to end: connect (Azure, or the lab's face), discover, render."""

from __future__ import annotations

import contextlib
from pathlib import Path

from pydantic import ValidationError

from erdrill.core.config import LAB_FACE, AzureConfig
from erdrill.core.errors import ConfigError
from erdrill.targets.azure.arm import Arm
from erdrill.targets.azure.discover import discover, placeholder_config
from erdrill.targets.azure.discovered_config import render
from erdrill.targets.azure.face import arm_connection, served_lab

__all__ = ["discover_config"]


def _config(subscription_id: str, resource_group: str, **extra: object) -> AzureConfig:
    try:
        return placeholder_config(subscription_id, resource_group, **extra)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "subscription"
        problem = str(first.get("msg", "invalid")).removeprefix("Value error, ")
        flag = {"subscription_id": "--subscription", "resource_group": "--resource-group"}
        raise ConfigError("discover", flag.get(field, field), problem) from None


def discover_config(
    subscription_id: str,
    resource_group: str,
    circuit: str | None,
    *,
    cloud: str = "AzureCloud",
    tenant_id: str | None = None,
    lab_topology: Path | None = None,
) -> str:
    """The drill config text for the resource group (reads only)."""
    extra: dict[str, object] = {"cloud": cloud, "tenant_id": tenant_id}
    if lab_topology is not None:
        extra["arm_endpoint"] = LAB_FACE
    cfg = _config(subscription_id, resource_group, **extra)
    with contextlib.ExitStack() as stack:
        run_dir = stack.enter_context(served_lab(lab_topology)) if lab_topology else None
        arm = Arm(cfg, arm_connection(cfg, run_dir), plan=True, out=lambda line: None)
        found = discover(arm, circuit)
    source = f"the lab's Azure face ({lab_topology})" if lab_topology else f"Azure ({cloud})"
    return render(
        found, cfg.subscription_id, cfg.resource_group, source, lab_face=bool(lab_topology)
    )
