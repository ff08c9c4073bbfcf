"""The parts of a lab topology: field types and one model per section (see lab/topology.py)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "NAME_PATTERN",
    "Address",
    "Advertise",
    "AzureSide",
    "Bfd",
    "Circuit",
    "ExpressRoute",
    "FaceMisconfig",
    "Link",
    "Name",
    "Network",
    "OnPrem",
    "Preference",
    "Spoke",
    "Subnet",
    "Timers",
    "Vpn",
]


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


def _gateway_subnet(v: str) -> str:
    if ipaddress.IPv4Network(v).prefixlen > 27:
        raise ValueError(f"{v} is smaller than /27; Azure needs a GatewaySubnet of /27 or larger")
    return v


Address = Annotated[str, AfterValidator(_address)]
Network = Annotated[str, AfterValidator(_network)]
GatewaySubnet = Annotated[str, AfterValidator(_network), AfterValidator(_gateway_subnet)]

FaceMisconfig = Literal["gateway-subnet-28", "policy-based-vpn", "vpn-not-connected"]
Asn = Annotated[int, Field(ge=1, le=4294967294)]
# a node name: its namespace is <prefix>-<name>
NAME_PATTERN = r"^[a-z][a-z0-9-]{0,23}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Preference(_Strict):
    """BGP local preference given to routes learned over each path."""

    expressroute: int = Field(ge=0, le=4294967295)
    vpn: int = Field(ge=0, le=4294967295)


class Advertise(_Strict):
    """Prefixes one side advertises over each path."""

    expressroute: list[Network]
    vpn: list[Network]


class Bfd(_Strict):
    enabled: bool = True
    interval_ms: int | None = Field(default=None, ge=10, le=30000)
    multiplier: int | None = Field(default=None, ge=1, le=255)


class Timers(_Strict):
    """BGP timers; unset fields come from the profile."""

    keepalive_s: int | None = Field(default=None, ge=1, le=21845)
    hold_s: int | None = Field(default=None, ge=3, le=65535)
    connect_retry_s: int | None = Field(default=None, ge=1, le=600)
    error_wait_s: int | None = Field(default=None, ge=1, le=600)

    @model_validator(mode="after")
    def _keepalive_within_hold(self) -> Timers:
        if self.hold_s and self.keepalive_s and self.keepalive_s * 3 > self.hold_s:
            raise ValueError("keepalive_s must be at most a third of hold_s")
        return self


class OnPrem(_Strict):
    """The on-premises LAN: its routers (CE routers, VPN devices) and probe hosts."""

    asn: Asn = 65010
    lan: Network
    # each router's LAN address; the first is the hosts' default gateway
    routers: dict[Name, Address] = Field(min_length=1, max_length=4)
    # probe hosts on the LAN; the first sends the drill's probes
    hosts: dict[Name, Address] = Field(min_length=1, max_length=8)
    local_pref: Preference
    vpn_prepend: int = Field(default=3, ge=0, le=10)
    advertise: Advertise


class Link(_Strict):
    """One link of a circuit: a CE router, its own MSEE and /30, and optional own timers."""

    ce: Name
    msee: Name
    peering: Network  # the private peering /30: CE first usable address, MSEE second
    gateway_link: Network  # MSEE to ExpressRoute gateway: MSEE first, gateway second
    bfd: Bfd | None = None
    timers: Timers | None = None


class Circuit(_Strict):
    name: Name
    location: str = Field(min_length=1, max_length=64)
    primary: Link
    secondary: Link | None = None


class ExpressRoute(_Strict):
    asn: Asn = 12076
    provider: Name = "provider"  # the layer-2 provider namespace: one bridge per link
    circuits: list[Circuit] = Field(min_length=1, max_length=2)


class Vpn(_Strict):
    """The VPN gateway's instances (two: active-active) and the on-premises VPN devices.

    Every device has a tunnel (and a BGP session) to every instance; tunnel k takes the
    k-th /30 of `underlay` (device first) and of `bgp_range` (APIPA, device first).
    """

    devices: list[Name] = Field(min_length=1, max_length=2)
    instances: dict[Name, Address] = Field(min_length=1, max_length=2)  # GatewaySubnet address
    underlay: Network = "198.51.100.0/24"
    bgp_range: Network = "169.254.21.0/24"


class Subnet(_Strict):
    """A workload subnet; the VNet router holds its first address (Azure's gateway)."""

    prefix: Network
    hosts: dict[Name, Address] = Field(min_length=1, max_length=8)


class Spoke(_Strict):
    """A spoke VNet peered to the hub; with gateway transit the gateways advertise it."""

    vnet: Network
    subnets: dict[str, Subnet] = Field(min_length=1, max_length=4)
    use_remote_gateways: bool = True


class AzureSide(_Strict):
    asn: Asn = 65515
    vnet: Network
    gateway_subnet: GatewaySubnet
    er_gateway: Address
    er_gateway_node: Name = "er-gateway"
    vnet_router: Address
    vnet_node: Name = "vnet"
    subnets: dict[str, Subnet] = Field(min_length=1, max_length=8)
    spokes: dict[Name, Spoke] = Field(default_factory=dict, max_length=32)
    workload_tcp_port: int = Field(default=443, ge=1, le=65535)
    local_pref: Preference
    advertise: Advertise
    # what the lab's Azure face shows wrongly (the lab itself stays healthy), to see the
    # architecture checks fire: a /28 GatewaySubnet, a policy-based VPN gateway, a VPN
    # connection NotConnected
    face_misconfig: list[FaceMisconfig] = Field(default_factory=list, max_length=3)
