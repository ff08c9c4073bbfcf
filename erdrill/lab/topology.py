"""The lab topology: a declarative, validated description of the emulated network.

One model describes every shape: one or two ExpressRoute circuits (each at a peering
location, with a primary and an optional secondary link, each its own /30 and its own
Microsoft edge) ending on one or more customer edge routers; a VPN gateway with one or
two instances (active-active) and one or two on-premises VPN devices; a hub VNet with
workload subnets and spoke VNets peered to it with gateway transit; probe hosts on the
on-premises LAN. Node names, links and addresses all come from here (lab/plan.py derives
the wiring). Everything is checked before a namespace exists; every error is one line
naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from erdrill.core.errors import ConfigError
from erdrill.lab.firewall import Firewall
from erdrill.lab.topology_checks import FieldProblem, check_topology, lab_networks, node_names
from erdrill.lab.topology_fields import (
    NAME_PATTERN,
    Advertise,
    AzureSide,
    Bfd,
    Circuit,
    ExpressRoute,
    Link,
    OnPrem,
    Preference,
    Spoke,
    Subnet,
    Timers,
    Vpn,
)
from erdrill.lab.topology_legacy import legacy_field

__all__ = [
    "DEFAULT_TOPOLOGY",
    "PROFILES",
    "Advertise",
    "AzureSide",
    "Bfd",
    "Circuit",
    "EffectiveTimers",
    "ExpressRoute",
    "Link",
    "OnPrem",
    "Preference",
    "Spoke",
    "Subnet",
    "Timers",
    "Topology",
    "Vpn",
    "load_topology",
    "parse_topology",
]

DEFAULT_TOPOLOGY = Path(__file__).parent / "topologies" / "default.yaml"

PROFILES: dict[str, dict[str, int]] = {
    # Lab default: seconds, so a drill takes seconds.
    "fast": {
        "keepalive_s": 1,
        "hold_s": 3,
        "connect_retry_s": 1,
        "error_wait_s": 1,
        "bfd_interval_ms": 100,
        "bfd_multiplier": 3,
    },
    # Microsoft's MSEE defaults: keepalive 60 s, hold 180 s, BFD 300 ms x 3.
    "azure": {
        "keepalive_s": 60,
        "hold_s": 180,
        "connect_retry_s": 5,
        "error_wait_s": 5,
        "bfd_interval_ms": 300,
        "bfd_multiplier": 3,
    },
}


class EffectiveTimers(BaseModel):
    keepalive_s: int
    hold_s: int
    connect_retry_s: int
    error_wait_s: int
    bfd: bool
    bfd_interval_ms: int
    bfd_multiplier: int


class Topology(BaseModel):
    """The whole lab, as declared in a topology file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    prefix: str = Field(default="erd-lab", pattern=r"^[a-z][a-z0-9-]{1,15}$")
    profile: Literal["fast", "azure"] = "fast"
    # misconfigured on purpose to show a finding: no target to drill (reports/freshness.py)
    demonstration: bool = False
    onprem: OnPrem
    expressroute: ExpressRoute
    vpn: Vpn
    azure: AzureSide
    bfd: Bfd = Bfd()
    timers: Timers = Timers()
    firewall: Firewall = Firewall()  # the optional stateful firewall on-premises (lab/firewall.py)
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Topology:
        check_topology(self.onprem, self.expressroute, self.vpn, self.azure)
        return self

    def namespace(self, node: str) -> str:
        """The network namespace name of a node: `<prefix>-<node>`."""
        nodes = self.nodes
        if node not in nodes:
            raise ConfigError(
                "lab", "node", f"unknown node {node!r}", f"use one of {', '.join(nodes)}"
            )
        return f"{self.prefix}-{node}"

    @property
    def nodes(self) -> list[str]:
        """Every node of the lab, named by the topology."""
        return node_names(self.onprem, self.expressroute, self.vpn, self.azure)

    @property
    def namespaces(self) -> list[str]:
        return [f"{self.prefix}-{n}" for n in self.nodes]

    @property
    def effective_timers(self) -> EffectiveTimers:
        return self.timers_with()

    def timers_with(self, timers: Timers | None = None, bfd: Bfd | None = None) -> EffectiveTimers:
        """The profile's timers under the topology's, under one link's own (if given)."""
        base = dict(PROFILES[self.profile])
        for layer in (self.timers, timers):
            if layer is not None:
                base.update({k: v for k, v in layer.model_dump().items() if v is not None})
        enabled = self.bfd.enabled
        for b in (self.bfd, bfd):
            if b is None:
                continue
            enabled = b.enabled
            if b.interval_ms is not None:
                base["bfd_interval_ms"] = b.interval_ms
            if b.multiplier is not None:
                base["bfd_multiplier"] = b.multiplier
        return EffectiveTimers(bfd=enabled, **base)

    def vpn_only_prefixes(self) -> list[str]:
        """Prefixes a side advertises over the VPN but not over ExpressRoute (they win there)."""
        found = []
        for adv in (self.onprem.advertise, self.azure.advertise):
            found += [p for p in adv.vpn if p not in adv.expressroute]
        return sorted(found)

    @property
    def onprem_prefix(self) -> str:
        return self.onprem.lan

    @property
    def probe_host(self) -> str:
        """The node that sends the drill's probes: the first on-premises host."""
        return next(iter(self.onprem.hosts))

    @property
    def host_address(self) -> str:
        """The probe source: the first on-premises host."""
        return next(iter(self.onprem.hosts.values()))

    @property
    def workload_address(self) -> str:
        """The first workload of the hub's first subnet."""
        return next(iter(next(iter(self.azure.subnets.values())).hosts.values()))

    @property
    def networks(self) -> list[Any]:
        """Every network inside the lab: the only addresses a lab probe may target."""
        return lab_networks(self.onprem, self.expressroute, self.vpn, self.azure)


def _first_error(exc: ValidationError) -> tuple[str, str]:
    """The field and problem to report: a field of the earlier format first, then the first."""
    errors = exc.errors()
    for err in errors:
        loc = ".".join(str(p) for p in err["loc"])
        changed = legacy_field(loc) if err["type"] == "extra_forbidden" else None
        if changed:
            return loc, changed
    err = errors[0]
    loc = ".".join(str(p) for p in err["loc"] if p != "[key]") or "(top level)"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "string_pattern_mismatch" and NAME_PATTERN in msg:
        msg = f"{err['input']!r} is not a node name (a-z first, then a-z, 0-9 or -; 24 at most)"
    problem = (err.get("ctx") or {}).get("error")
    if isinstance(problem, FieldProblem):
        return ".".join(p for p in (loc.removeprefix("(top level)"), problem.field) if p), (
            problem.problem
        )
    if err["type"] == "extra_forbidden":
        msg = "unknown field; check the spelling against lab/topologies/default.yaml"
    elif err["type"] == "missing":
        msg = "is required; see lab/topologies/default.yaml"
    return loc, msg


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _resolve_extends(
    data: dict[str, Any], here: Path, source: str, depth: int = 0
) -> dict[str, Any]:
    """`extends: NAME_OR_FILE` merges this file over a base topology (built-in name or path)."""
    base_ref = data.pop("extends", None)
    if base_ref is None:
        return data
    if not isinstance(base_ref, str) or depth > 4:
        raise ConfigError(source, "extends", "must name one base topology", "e.g. extends: default")
    builtin = DEFAULT_TOPOLOGY.parent / f"{base_ref}.yaml"
    path = builtin if builtin.exists() else (here / base_ref)
    try:
        base = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        raise ConfigError(
            source,
            "extends",
            f"base topology {base_ref!r} cannot be read",
            "name a built-in topology (default) or an existing file",
        ) from None
    if not isinstance(base, dict):
        raise ConfigError(source, "extends", f"base topology {base_ref!r} is not a mapping")
    return _merge(_resolve_extends(base, path.parent, str(path), depth + 1), data)


def parse_topology(data: Any, source: str = "topology") -> Topology:
    """Validate already-parsed topology data (a mapping)."""
    if not isinstance(data, dict):
        raise ConfigError(
            source, "(top level)", "must be a mapping of fields", "see lab/topologies/default.yaml"
        )
    try:
        return Topology.model_validate({**data, "source": source})
    except ValidationError as exc:
        loc, msg = _first_error(exc)
        raise ConfigError(source, loc, msg) from None


def load_topology(path: Path | str | None = None) -> Topology:
    """Load and validate a topology file (YAML); None loads the documented default."""
    p = Path(path) if path is not None else DEFAULT_TOPOLOGY
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            str(p), "file", f"cannot be read ({exc.strerror})", "pass an existing topology file"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(p), "file", f"is not UTF-8 (byte {exc.start})", "save it as UTF-8"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        raise ConfigError(str(p), where, "is not valid YAML", "fix the syntax") from None
    if isinstance(data, dict):
        data = _resolve_extends(data, p.parent, str(p))
    return parse_topology(data, str(p))
