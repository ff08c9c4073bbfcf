"""The fleet inventory: every circuit, where its drill runs and what it shares, validated
before anything starts. Every problem is one line naming the field (`ConfigError`).

    sites: [lab-west, lab-east]      # one task queue (and worker) per site
    concurrency: 2                   # drills at once in a campaign
    interval_days: 90                # a circuit not drilled within this is OVERDUE
    circuits:
      - name: amsterdam-1
        site: lab-west
        config: amsterdam-1.toml     # the drill config (TOML), relative to this file
        topology: amsterdam-1.yaml   # a lab circuit's topology
        scenarios: failover          # a pytest -m tag expression (default: the documented plan)
        resources: {peering_location: Amsterdam, ce_routers: [ams-ce-1]}
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from _pytest.mark.expression import Expression
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from erdrill.core.config import _from_validation, load_drill_config
from erdrill.core.errors import ConfigError
from erdrill.lab.topology import load_topology

__all__ = ["DOCUMENTED_PLAN", "Circuit", "Inventory", "Resources", "load_inventory"]

DOCUMENTED_PLAN = "failover"  # the tag of Microsoft's documented test plan
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(_Model):
    """What a circuit's drill takes down with it: no two drills sharing one run at once."""

    peering_location: str | None = None
    ce_routers: list[str] = Field(default_factory=list)
    vpn_devices: list[str] = Field(default_factory=list)
    gateways: list[str] = Field(default_factory=list)

    def keys(self) -> list[str]:
        """Each resource as `kind:name`, sorted (locks are taken in this order)."""
        out = {f"peering-location:{self.peering_location}"} if self.peering_location else set()
        out |= {f"ce-router:{n}" for n in self.ce_routers}
        out |= {f"vpn-device:{n}" for n in self.vpn_devices}
        out |= {f"gateway:{n}" for n in self.gateways}
        return sorted(out)


class Circuit(_Model):
    """One circuit of the fleet and how to drill it."""

    name: str
    site: str
    config: Path
    topology: Path | None = None
    scenarios: str = DOCUMENTED_PLAN
    resources: Resources = Field(default_factory=Resources)
    allow_disruption: bool = False  # Azure: the drill may disable what it drills

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(f"{v!r} is not a name (letters, digits, . _ -; at most 63)")
        return v

    @field_validator("scenarios")
    @classmethod
    def _tags(cls, v: str) -> str:
        try:
            Expression.compile(v)
        except SyntaxError as exc:
            raise ValueError(f"bad tag expression {v!r}: {exc.msg}") from None
        return v


class Inventory(_Model):
    """The whole fleet."""

    sites: list[str] = Field(min_length=1)
    concurrency: int = Field(default=1, ge=1, le=64)
    interval_days: float = Field(default=90.0, gt=0)
    circuits: list[Circuit] = Field(min_length=1)

    def circuit(self, name: str) -> Circuit:
        return next(c for c in self.circuits if c.name == name)

    def select(self, names: list[str] | tuple[str, ...], source: str = "--only") -> list[Circuit]:
        """The circuits named (all when none), in inventory order; an unknown name is refused."""
        known = {c.name for c in self.circuits}
        for n in names:
            if n not in known:
                raise ConfigError(
                    source, "circuit", f"no circuit named {n!r}", f"use one of {sorted(known)}"
                )
        return [c for c in self.circuits if not names or c.name in names]


def _check(inv: Inventory, source: str, base: Path) -> Inventory:
    """What one circuit cannot see: names unique, sites declared, files present and valid."""
    seen: set[str] = set()
    fixed: list[Circuit] = []
    for i, c in enumerate(inv.circuits):
        where = f"circuits[{i}]"
        if c.name in seen:
            raise ConfigError(source, f"{where}.name", f"duplicate name {c.name!r}", "rename one")
        seen.add(c.name)
        if c.site not in inv.sites:
            raise ConfigError(
                source, f"{where}.site", f"unknown site {c.site!r}", f"use one of {inv.sites}"
            )
        config = c.config if c.config.is_absolute() else base / c.config
        if not config.is_file():
            raise ConfigError(
                source, f"{where}.config", f"no such file {str(config)!r}", "give a drill config"
            )
        load_drill_config(config)  # its own one-line errors name the file and field
        topology = None
        if c.topology is not None:
            topology = c.topology if c.topology.is_absolute() else base / c.topology
            if not topology.is_file():
                raise ConfigError(
                    source, f"{where}.topology", f"no such file {str(topology)!r}", "fix the path"
                )
            load_topology(topology)
        fixed.append(c.model_copy(update={"config": config, "topology": topology}))
    return inv.model_copy(update={"circuits": fixed})


def parse_inventory(data: Any, source: str, base: Path) -> Inventory:
    """Validate parsed YAML; relative paths resolve against `base`."""
    try:
        inv = Inventory.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(source, exc, data) from None
    return _check(inv, source, base)


def load_inventory(path: Path) -> Inventory:
    """Read and validate a fleet inventory (YAML)."""
    source = str(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(source, "(file)", "no such file", "give a fleet inventory") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(source, "(file)", str(exc).splitlines()[0], "check the path") from None
    except yaml.YAMLError as exc:
        first = " ".join(str(exc).split())[:200]
        raise ConfigError(source, "(syntax)", first, "fix the YAML") from None
    if not isinstance(data, dict):
        raise ConfigError(source, "(top level)", "not a mapping", "see examples/fleet-lab.yaml")
    return parse_inventory(data, source, path.resolve().parent)
