"""The one interface every drill target (the lab, Azure) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from erdrill.core.faults import Fault
from erdrill.core.paths import PathPair
from erdrill.core.routes import RouteTable
from erdrill.probes.target import ProbeTarget

__all__ = ["Health", "Target", "target_key"]


@dataclass(slots=True)
class Health:
    """Steady-state facts: BGP sessions, the tunnel and the path in each direction."""

    bgp: dict[str, str]  # session name -> state ("established", "down", ...)
    tunnel: str  # "up" / "down"
    paths: PathPair
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bgp": dict(self.bgp),
            "tunnel": self.tunnel,
            "paths": self.paths.to_dict(),
            "details": self.details,
        }


class Target(Protocol):
    """An environment a drill runs against."""

    name: str
    default_fault: str
    path_poll_interval_s: float

    @property
    def identity(self) -> str:
        """What tells this target from others of its kind: the lab's prefix, the circuit."""
        ...

    def describe(self) -> dict[str, str]:
        """Labels for the record and the report (topology or circuit name, versions)."""
        ...

    def ensure_ready(self) -> None:
        """Bring the environment up if needed and wait until it is healthy."""
        ...

    def teardown(self) -> None:
        """Release what `ensure_ready` built (the lab's namespaces, the Azure face)."""
        ...

    def health(self) -> Health: ...

    def paths(self) -> PathPair:
        """The path in use in each direction now."""
        ...

    def route_tables(self) -> list[RouteTable]:
        """Classified route tables of both sides, for evidence."""
        ...

    def learned_prefixes(self) -> dict[str, dict[str, list[str]]]:
        """side -> path -> the drill's prefixes that side learns over that path."""
        ...

    def other_prefixes(self) -> dict[str, dict[str, list[str]]]:
        """Learned prefixes that are not the drill's (information, never a failure)."""
        ...

    def fault_names(self) -> list[str]: ...

    def fault(self, name: str) -> Fault:
        """The fault called `name`, bound to this target; an unknown name lists the choices."""
        ...

    def probe_targets(self) -> list[ProbeTarget]: ...

    def probe_namespace(self) -> str | None:
        """The network namespace to probe from, or None for this host."""
        ...

    def allowed_networks(self) -> list[str] | None:
        """The only networks probes may go to (the lab's), or None for no restriction."""
        ...

    def ground_truth(self, since: float) -> list[dict[str, Any]]:
        """Events (faults, route changes) recorded by the environment since a wall time."""
        ...

    def api_calls(self) -> list[dict[str, Any]]:
        """Every control-plane call so far (Azure: reads and writes), for the record."""
        ...

    def secrets(self) -> list[str]:
        """Secrets that must never reach a log or report."""
        ...


def target_key(target: Target) -> str:
    """The key of a target's lock and journal: `lab-<prefix>`, `azure-<circuit>/<peering>`."""
    return f"{target.name}-{target.identity}"
