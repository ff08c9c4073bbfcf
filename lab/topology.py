"""The lab topology: a declarative, validated description of the emulated network.

Everything is checked before a namespace exists; every error is one line naming the field.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from core.errors import ConfigError
from lab.firewall import Firewall

__all__ = [
    "DEFAULT_TOPOLOGY",
    "NODES",
    "PROFILES",
    "ROUTERS",
    "Advertise",
    "AzureSide",
    "Bfd",
    "EffectiveTimers",
    "Msee",
    "OnPrem",
    "Preference",
    "Timers",
    "Topology",
    "load_topology",
    "parse_topology",
]

DEFAULT_TOPOLOGY = Path(__file__).parent / "topologies" / "default.yaml"

NODES = (
    "onprem-host",
    "onprem-edge",
    "provider",
    "msee",
    "er-gateway",
    "vpn-gateway",
    "vnet",
    "workload",
)
ROUTERS = ("onprem-edge", "msee", "er-gateway", "vpn-gateway", "vnet")

Asn = Annotated[int, Field(ge=1, le=4294967294)]


def _interface(v: str) -> str:
    try:
        iface = ipaddress.IPv4Interface(v)
    except ValueError as exc:
        raise ValueError(
            f"{v!r} is not an IPv4 address with prefix length (like 10.0.0.1/24)"
        ) from exc
    if "/" not in v:
        raise ValueError(f"{v!r} needs a prefix length (like {v}/24)")
    return str(iface)


def _address(v: str) -> str:
    try:
        return str(ipaddress.IPv4Address(v))
    except ValueError as exc:
        raise ValueError(f"{v!r} is not an IPv4 address (like 10.1.255.228)") from exc


def _network(v: str) -> str:
    try:
        return str(ipaddress.IPv4Network(v, strict=True))
    except ValueError as exc:
        raise ValueError(
            f"{v!r} is not an IPv4 network (like 10.1.0.0/16, host bits zero)"
        ) from exc


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Preference(_Strict):
    """BGP local preference given to routes learned over each path."""

    expressroute: int = Field(ge=0, le=4294967295)
    vpn: int = Field(ge=0, le=4294967295)


class Advertise(_Strict):
    """Prefixes one side advertises over each path."""

    expressroute: list[str]
    vpn: list[str]

    @field_validator("expressroute", "vpn")
    @classmethod
    def _nets(cls, v: list[str]) -> list[str]:
        return [_network(p) for p in v]


class OnPrem(_Strict):
    asn: Asn = 65010
    host: str
    lan: str
    er_address: str
    vpn_outer: str
    vpn_bgp: str
    local_pref: Preference
    vpn_prepend: int = Field(default=3, ge=0, le=10)
    advertise: Advertise

    _ifaces = field_validator("host", "lan", "er_address", "vpn_outer")(
        classmethod(lambda cls, v: _interface(v))
    )
    _addrs = field_validator("vpn_bgp")(classmethod(lambda cls, v: _address(v)))


class Msee(_Strict):
    asn: Asn = 12076
    ce_address: str
    gateway_link: str

    _ifaces = field_validator("ce_address", "gateway_link")(
        classmethod(lambda cls, v: _interface(v))
    )


class AzureSide(_Strict):
    asn: Asn = 65515
    vnet: str
    gateway_subnet: str
    er_gateway: str
    er_gateway_link: str
    vpn_gateway: str
    vpn_outer: str
    vpn_bgp: str
    vnet_router: str
    workload_subnet_gateway: str
    workload: str
    workload_tcp_port: int = Field(default=443, ge=1, le=65535)
    local_pref: Preference
    advertise: Advertise

    _nets = field_validator("vnet", "gateway_subnet")(classmethod(lambda cls, v: _network(v)))
    _ifaces = field_validator(
        "er_gateway_link", "vpn_outer", "workload_subnet_gateway", "workload"
    )(classmethod(lambda cls, v: _interface(v)))
    _addrs = field_validator("er_gateway", "vpn_gateway", "vpn_bgp", "vnet_router")(
        classmethod(lambda cls, v: _address(v))
    )

    @field_validator("gateway_subnet")
    @classmethod
    def _gateway_subnet_size(cls, v: str) -> str:
        if ipaddress.IPv4Network(v).prefixlen > 27:
            raise ValueError(
                f"{v} is smaller than /27; Azure needs a GatewaySubnet of /27 or larger"
            )
        return v


class Bfd(_Strict):
    enabled: bool = True
    interval_ms: int | None = Field(default=None, ge=10, le=30000)
    multiplier: int | None = Field(default=None, ge=1, le=255)


class Timers(_Strict):
    """BGP and BFD timers; unset fields come from the profile."""

    keepalive_s: int | None = Field(default=None, ge=1, le=21845)
    hold_s: int | None = Field(default=None, ge=3, le=65535)
    connect_retry_s: int | None = Field(default=None, ge=1, le=600)
    error_wait_s: int | None = Field(default=None, ge=1, le=600)


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


class Topology(_Strict):
    """The whole lab, as declared in a topology file."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    prefix: str = Field(default="erd-lab", pattern=r"^[a-z][a-z0-9-]{1,15}$")
    profile: Literal["fast", "azure"] = "fast"
    onprem: OnPrem
    msee: Msee
    azure: AzureSide
    bfd: Bfd = Bfd()
    timers: Timers = Timers()
    firewall: Firewall = Firewall()  # the optional stateful firewall on-premises (lab/firewall.py)
    source: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Topology:
        _check_overlaps(self)
        _check_same_subnet(self)
        if (
            self.timers.hold_s is not None
            and self.timers.keepalive_s is not None
            and self.timers.keepalive_s * 3 > self.timers.hold_s
        ):
            raise ValueError("timers: keepalive_s must be at most a third of hold_s")
        return self

    def namespace(self, node: str) -> str:
        """The network namespace name of a node: `<prefix>-<node>`."""
        if node not in NODES:
            raise ConfigError(
                "lab", "node", f"unknown node {node!r}", f"use one of {', '.join(NODES)}"
            )
        return f"{self.prefix}-{node}"

    @property
    def namespaces(self) -> list[str]:
        return [self.namespace(n) for n in NODES]

    @property
    def effective_timers(self) -> EffectiveTimers:
        base = dict(PROFILES[self.profile])
        base.update({k: v for k, v in self.timers.model_dump().items() if v is not None})
        if self.bfd.interval_ms is not None:
            base["bfd_interval_ms"] = self.bfd.interval_ms
        if self.bfd.multiplier is not None:
            base["bfd_multiplier"] = self.bfd.multiplier
        return EffectiveTimers(bfd=self.bfd.enabled, **base)

    def vpn_only_prefixes(self) -> list[str]:
        """Prefixes a side advertises over the VPN but not over ExpressRoute (they win there)."""
        found = []
        for adv in (self.onprem.advertise, self.azure.advertise):
            found += [p for p in adv.vpn if p not in adv.expressroute]
        return sorted(found)

    @property
    def onprem_prefix(self) -> str:
        return str(ipaddress.IPv4Interface(self.onprem.host).network)

    @property
    def host_address(self) -> str:
        return str(ipaddress.IPv4Interface(self.onprem.host).ip)

    @property
    def workload_address(self) -> str:
        return str(ipaddress.IPv4Interface(self.azure.workload).ip)

    @property
    def networks(self) -> list[ipaddress.IPv4Network]:
        """Every network inside the lab: the only addresses a lab probe may target."""
        nets = {
            ipaddress.IPv4Network(self.azure.vnet),
            ipaddress.IPv4Network(self.azure.gateway_subnet),
        }
        for iface in (
            self.onprem.host,
            self.onprem.er_address,
            self.onprem.vpn_outer,
            self.msee.gateway_link,
            self.azure.workload,
        ):
            nets.add(ipaddress.IPv4Interface(iface).network)
        nets.add(ipaddress.IPv4Network(f"{self.onprem.vpn_bgp}/32"))
        nets.add(ipaddress.IPv4Network(f"{self.azure.vpn_bgp}/32"))
        return sorted(nets)


def _links(t: Topology) -> dict[str, ipaddress.IPv4Network]:
    return {
        "onprem.lan": ipaddress.IPv4Interface(t.onprem.lan).network,
        "onprem.er_address": ipaddress.IPv4Interface(t.onprem.er_address).network,
        "onprem.vpn_outer": ipaddress.IPv4Interface(t.onprem.vpn_outer).network,
        "msee.gateway_link": ipaddress.IPv4Interface(t.msee.gateway_link).network,
        "azure.vnet": ipaddress.IPv4Network(t.azure.vnet),
    }


def _check_overlaps(t: Topology) -> None:
    links = list(_links(t).items())
    for i, (name_a, net_a) in enumerate(links):
        for name_b, net_b in links[i + 1 :]:
            if net_a.overlaps(net_b):
                raise ValueError(
                    f"{name_a} ({net_a}) overlaps {name_b} ({net_b}); give each its own range"
                )
    vnet = ipaddress.IPv4Network(t.azure.vnet)
    for field in ("gateway_subnet",):
        net = ipaddress.IPv4Network(getattr(t.azure, field))
        if not net.subnet_of(vnet):
            raise ValueError(f"azure.{field} ({net}) is not inside azure.vnet ({vnet})")
    wl = ipaddress.IPv4Interface(t.azure.workload).network
    if not wl.subnet_of(vnet) or wl.overlaps(ipaddress.IPv4Network(t.azure.gateway_subnet)):
        raise ValueError(
            f"azure.workload subnet ({wl}) must be inside azure.vnet and outside the GatewaySubnet"
        )
    lan = ipaddress.IPv4Interface(t.onprem.lan).network
    for side, adv in (("onprem", t.onprem.advertise), ("azure", t.azure.advertise)):
        own = lan if side == "onprem" else vnet
        for path in ("expressroute", "vpn"):
            for p in getattr(adv, path):
                net = ipaddress.IPv4Network(p)
                if not (net.subnet_of(own) or own.subnet_of(net)):
                    raise ValueError(f"{side}.advertise.{path}: {net} is not within {own}")


def _check_same_subnet(t: Topology) -> None:
    pairs = (
        ("onprem.host", t.onprem.host, t.onprem.lan),
        ("onprem.er_address", t.onprem.er_address, t.msee.ce_address),
        ("onprem.vpn_outer", t.onprem.vpn_outer, t.azure.vpn_outer),
        ("msee.gateway_link", t.msee.gateway_link, t.azure.er_gateway_link),
        ("azure.workload", t.azure.workload, t.azure.workload_subnet_gateway),
    )
    for name, a, b in pairs:
        ia, ib = ipaddress.IPv4Interface(a), ipaddress.IPv4Interface(b)
        if ia.network != ib.network:
            raise ValueError(f"{name} ({a}) and its peer ({b}) must share one subnet")
        if ia.ip == ib.ip:
            raise ValueError(f"{name} ({a}) uses the same address as its peer")
    gw = ipaddress.IPv4Network(t.azure.gateway_subnet)
    seen: set[str] = set()
    for field in ("er_gateway", "vpn_gateway", "vnet_router"):
        addr = getattr(t.azure, field)
        if ipaddress.IPv4Address(addr) not in gw:
            raise ValueError(f"azure.{field} ({addr}) is not inside azure.gateway_subnet ({gw})")
        if addr in seen:
            raise ValueError(f"azure.{field} ({addr}) is used twice in the GatewaySubnet")
        seen.add(addr)


def _first_error(exc: ValidationError) -> tuple[str, str]:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = str(err["msg"]).removeprefix("Value error, ")
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
