"""The drill config: a TOML file validated before anything runs.

Every problem is one line naming the field and the fix (`ConfigError`), never a traceback:
bad TOML syntax, a missing file, an unknown field and a wrong type alike.
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import uuid
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from erdrill.core import defaults
from erdrill.core.circuits import CircuitConfig, site_failover_problem
from erdrill.core.errors import ConfigError
from erdrill.core.face_profile import FaceProfile
from erdrill.core.fault_methods import method
from erdrill.core.numbers import Milliseconds, Seconds

__all__ = [
    "LAB_FACE",
    "AzureConfig",
    "ClassificationConfig",
    "DrillConfig",
    "DrillSection",
    "FaultCommands",
    "LinkFailoverConfig",
    "ProbeSection",
    "ProbeTargetConfig",
    "TargetSection",
    "load_drill_config",
    "parse_drill_config",
]

AZURE_PUBLIC = "https://management.azure.com"
LAB_FACE = "lab"  # arm_endpoint value meaning "the running lab's Azure face"
PATH_NAMES = ("expressroute", "vpn")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DrillSection(_Section):
    """Limits and rates of the drill itself."""

    probe_rate: int = Field(default=defaults.PROBE_RATE, ge=1, le=10000)  # per target, protocol
    failover_limit_s: Seconds = defaults.FAILOVER_LIMIT_S
    failback_limit_s: Seconds = defaults.FAILBACK_LIMIT_S
    abort_limit_s: Seconds = defaults.ABORT_LIMIT_S
    sustain_s: Seconds = defaults.AZURE_SUSTAIN_S
    late_ms: Milliseconds = defaults.LATE_MS
    restore_at_window: bool = False  # restore when the window is missed, not at the abort limit

    @model_validator(mode="after")
    def _ordered(self) -> DrillSection:
        if self.abort_limit_s < max(self.failover_limit_s, self.failback_limit_s):
            raise ValueError(
                "abort_limit_s: must be at least failover_limit_s and failback_limit_s"
            )
        return self


class ProbeTargetConfig(_Section):
    """One address to probe; ttl_signatures maps a path to the reply TTL seen over it.

    forward_hops maps a path to the hop count of a traceroute from the probe host to this
    address over it (the forward direction, which Azure's control plane cannot show).
    """

    address: str
    tcp_port: int = Field(default=443, ge=1, le=65535)
    name: str = ""
    ttl_signatures: dict[Literal["expressroute", "vpn"], int] = Field(default_factory=dict)
    forward_hops: dict[Literal["expressroute", "vpn"], int] = Field(default_factory=dict)

    @field_validator("address")
    @classmethod
    def _ip(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_address(v))
        except ValueError:
            raise ValueError(f"{v!r} is not an IP address (like 10.1.1.4)") from None

    @field_validator("ttl_signatures")
    @classmethod
    def _ttls(cls, v: dict[str, int]) -> dict[str, int]:
        for path, ttl in v.items():
            if not 1 <= ttl <= 255:
                raise ValueError(f"TTL {ttl} for {path} is outside 1..255")
        return v

    @field_validator("forward_hops")
    @classmethod
    def _hops(cls, v: dict[str, int]) -> dict[str, int]:
        for path, hops in v.items():
            if not 1 <= hops <= 64:
                raise ValueError(f"hop count {hops} for {path} is outside 1..64")
        if len(v) == 2 and len(set(v.values())) == 1:
            raise ValueError("both paths have the same hop count; they must differ")
        return v


class ProbeSection(_Section):
    """Where probes run from and what they probe (empty: the lab supplies its targets)."""

    targets: list[ProbeTargetConfig] = Field(default_factory=list)
    namespace: str | None = None  # network namespace to probe from; None = this host
    host: str = ""  # label of the probing host for the record
    # long-lived TCP sessions per target across the fault (unset: 2 for the lab, none for
    # Azure, whose workloads need an echo service on session_port)
    sessions: int | None = Field(default=None, ge=0, le=16)
    session_port: int | None = Field(default=None, ge=1, le=65535)
    session_timeout_s: float | None = Field(default=None, gt=0, le=900)


class TargetSection(_Section):
    kind: Literal["lab", "azure"] = "lab"


class ClassificationConfig(_Section):
    """How a route is judged ExpressRoute or VPN (see targets/classify.py).

    rule "as-path-12076": a route whose gateway-learned AS path passes through 12076
    (Microsoft's ASN) came over ExpressRoute; others came over the VPN.
    rule "next-hop": an effective route's next hop in er_next_hops is ExpressRoute, in
    vpn_next_hops the VPN.
    """

    rule: Literal["as-path-12076", "next-hop"] = "as-path-12076"
    er_next_hops: list[str] = Field(default_factory=list)
    vpn_next_hops: list[str] = Field(default_factory=list)

    @field_validator("er_next_hops", "vpn_next_hops")
    @classmethod
    def _ips(cls, v: list[str]) -> list[str]:
        out = []
        for a in v:
            try:
                out.append(str(ipaddress.ip_address(a)))
            except ValueError:
                raise ValueError(f"{a!r} is not an IP address") from None
        return out

    @model_validator(mode="after")
    def _next_hops_given(self) -> ClassificationConfig:
        if self.rule == "next-hop" and not (self.er_next_hops or self.vpn_next_hops):
            raise ValueError("er_next_hops: rule 'next-hop' needs er_next_hops or vpn_next_hops")
        return self


class FaultCommands(_Section):
    """Shell commands the operator supplies for fault_method "command"."""

    inject: str = Field(min_length=1)
    undo: str = Field(min_length=1)
    timeout_s: Seconds = 120.0


FaultMethod = str  # a name of core.fault_methods.METHODS, checked by AzureConfig


class LinkFailoverConfig(_Section):
    """`[azure.link_failover]`: the link and category of Microsoft's circuit link failover test."""

    link: Literal["Primary", "Secondary"] = "Primary"
    category: Literal["BgpDisconnect", "ASPathPrepend"] = "BgpDisconnect"


class AzureConfig(_Section):
    """The circuit, gateways and NIC a drill reads and (with allow_disruption) changes."""

    subscription_id: str
    resource_group: str = Field(min_length=1)
    circuit: str = Field(min_length=1)
    peering: str = Field(default="AzurePrivatePeering", min_length=1)
    er_gateway: str = Field(min_length=1)
    vpn_gateway: str = Field(min_length=1)
    vpn_connection: str = Field(min_length=1)
    nic: str = Field(min_length=1)
    network_watcher: str | None = None
    onprem_prefixes: list[str] = Field(min_length=1)
    classification: ClassificationConfig = Field(default_factory=ClassificationConfig)
    fault_method: FaultMethod = "operator"
    fault_commands: FaultCommands | None = None
    peering_location: str | None = None
    circuits: list[CircuitConfig] = Field(default_factory=list)  # site failover: 2+ locations
    link_failover: LinkFailoverConfig = Field(default_factory=LinkFailoverConfig)
    operator_wait_s: Seconds = 900.0
    arm_endpoint: str = AZURE_PUBLIC  # unless set: the cloud's ARM endpoint
    cloud: Literal["AzureCloud", "AzureUSGovernment", "AzureChinaCloud"] = "AzureCloud"
    tenant_id: str | None = None  # the Microsoft Entra tenant to sign in to
    ca_bundle: str | None = None
    operation_timeout_s: Seconds = 300.0  # bound on every long-running operation
    poll_interval_s: Seconds = 5.0  # LRO poll interval when the server sends no Retry-After
    retry_attempts: int = Field(default=5, ge=1, le=20)  # per call, for 429 and 5xx
    retry_after_cap_s: Seconds = 60.0  # a Retry-After longer than this fails the call
    face: FaceProfile | None = None  # arm_endpoint "lab" only: how the face behaves

    @field_validator("fault_method")
    @classmethod
    def _method(cls, v: str) -> str:
        return method(v).name

    @field_validator("subscription_id")
    @classmethod
    def _uuid(cls, v: str) -> str:
        try:
            return str(uuid.UUID(v))
        except ValueError:
            raise ValueError(
                f"{v!r} is not a subscription id (a GUID like 00000000-0000-0000-0000-000000000000)"
            ) from None

    @field_validator("onprem_prefixes")
    @classmethod
    def _nets(cls, v: list[str]) -> list[str]:
        out = []
        for p in v:
            try:
                out.append(str(ipaddress.ip_network(p, strict=True)))
            except ValueError:
                raise ValueError(
                    f"{p!r} is not a network in CIDR form with host bits zero (like 10.1.0.0/16)"
                ) from None
        return out

    @field_validator("arm_endpoint")
    @classmethod
    def _endpoint(cls, v: str) -> str:
        if v == LAB_FACE:
            return v
        if not v.startswith("https://") or len(v) <= len("https://"):
            raise ValueError(f"{v!r} is neither 'lab' nor an https:// URL (like {AZURE_PUBLIC})")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _method_needs(self) -> AzureConfig:
        if self.fault_method == "command" and self.fault_commands is None:
            raise ValueError(
                "fault_commands: fault_method 'command' needs [azure.fault_commands] inject, undo"
            )
        if self.fault_method == "site-failover-simulation":
            problem = site_failover_problem(self.peering_location, self.circuits)
            if problem is not None:
                raise ValueError(problem)
        if self.fault_method == "disable-peering" and self.peering != "AzurePrivatePeering":
            raise ValueError(
                f"peering: a drill may disable only AzurePrivatePeering, not {self.peering!r} "
                "(Microsoft peering carries other services)"
            )
        if self.face is not None and self.arm_endpoint != LAB_FACE:
            raise ValueError(
                "face: [azure.face] shapes only the lab's face; set arm_endpoint = 'lab' or "
                "remove it"
            )
        return self

    @property
    def is_lab_face(self) -> bool:
        return self.arm_endpoint == LAB_FACE


class DrillConfig(_Section):
    """The whole drill config; `DrillConfig()` is the lab default."""

    drill: DrillSection = Field(default_factory=DrillSection)
    probe: ProbeSection = Field(default_factory=ProbeSection)
    target: TargetSection = Field(default_factory=TargetSection)
    azure: AzureConfig | None = None

    @model_validator(mode="after")
    def _azure_given(self) -> DrillConfig:
        if self.target.kind == "azure" and self.azure is None:
            raise ValueError(
                "azure: target.kind 'azure' needs an [azure] section (see examples/azure.toml)"
            )
        return self


# --- loading -------------------------------------------------------------------------


def _one_line(text: str, limit: int = 300) -> str:
    """Escape anything unprintable so a message stays on one line."""
    out = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p.startswith(("function-", "literal[")) or p in {"str", "int", "float", "list"}:
            continue
        else:
            parts.append(("." if parts else "") + p)
    return "".join(parts) or "(top level)"


_FIXES = {
    "extra_forbidden": "remove it or fix its spelling",
    "missing": "add it",
    "literal_error": "use one of the values listed",
    "string_type": "write it as a quoted string",
    "int_type": "write it as a whole number",
    "float_type": "write it as a number",
    "bool_type": "write true or false",
    "list_type": "write it as a list [ ... ]",
    "dict_type": "write it as a table",
    "model_type": "write it as a table",
}


def _from_validation(source: str, err: ValidationError, data: Any) -> ConfigError:
    first = err.errors(include_url=False)[0]
    loc = tuple(first.get("loc", ()))
    field = _field_name(loc)
    kind = str(first.get("type", ""))
    problem = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        problem = "unknown field"
    elif kind not in {"missing"} and "input" in first and kind != "value_error":
        problem = f"{problem} (got {first['input']!r:.60})"
    fix = _FIXES.get(kind, "correct the value")
    if kind == "value_error":
        fix = ""
        sub = re.match(r"^([A-Za-z_][\w.]*): (.*)$", problem)
        if sub is not None:  # a model-level check names its field first
            field = sub[1] if field == "(top level)" else f"{field}.{sub[1]}"
            problem = sub[2]
    if kind == "extra_forbidden" and len(loc) > 1:
        fix = "remove it or fix its spelling (see examples/azure.toml for the known fields)"
    return ConfigError(_one_line(source), _one_line(field), _one_line(problem), _one_line(fix))


def parse_drill_config(
    text: str, source: str = "<string>", base_dir: Path | None = None
) -> DrillConfig:
    """Parse and validate TOML text; relative ca_bundle paths resolve against base_dir."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            _one_line(source), "(syntax)", _one_line(str(exc)), "fix the TOML syntax"
        ) from None
    except (ValueError, RecursionError) as exc:  # pathological nesting and friends
        raise ConfigError(
            _one_line(source), "(syntax)", _one_line(str(exc)), "fix the TOML"
        ) from None
    try:
        cfg = DrillConfig.model_validate(data)
    except ValidationError as exc:
        raise _from_validation(source, exc, data) from None
    except RecursionError:
        raise ConfigError(
            _one_line(source), "(top level)", "nested too deep", "flatten it"
        ) from None
    if cfg.azure is not None and cfg.azure.ca_bundle and base_dir is not None:
        bundle = Path(cfg.azure.ca_bundle)
        if not bundle.is_absolute():
            azure = cfg.azure.model_copy(update={"ca_bundle": str(base_dir / bundle)})
            cfg = cfg.model_copy(update={"azure": azure})
    return cfg


def load_drill_config(path: Path | None) -> DrillConfig:
    """Read a drill config file; None gives the defaults for the lab."""
    if path is None:
        return DrillConfig()
    source = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            _one_line(source), "(file)", "no such file", "give the path of a drill config (.toml)"
        ) from None
    except OSError as exc:
        raise ConfigError(
            _one_line(source), "(file)", _one_line(exc.strerror or str(exc)), "check the path"
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            _one_line(source), "(file)", "not UTF-8 text", "save it as UTF-8"
        ) from None
    return parse_drill_config(text, source, base_dir=path.parent)
