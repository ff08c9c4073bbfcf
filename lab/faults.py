"""The lab's fault kinds: each one injected where a real outage happens, and undone exactly.

Chaos Toolkit's split: a fault is an action with its rollback. The lab calls `inject`
and `undo`; nothing else touches the network to cause or repair an outage.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Protocol

from core.errors import ConfigError

__all__ = ["FAULTS", "FaultKind", "LabOps", "fault_kind"]

BLACKHOLE_NFT = """table bridge erdrill_fault {
    chain forward {
        type filter hook forward priority 0; policy accept;
        counter drop
    }
}
"""

VPN_BLOCK_NFT = """table inet erdrill_fault {
    chain input {
        type filter hook input priority 0; policy accept;
        udp dport { 500, 4500 } counter drop
    }
    chain output {
        type filter hook output priority 0; policy accept;
        udp dport { 500, 4500 } counter drop
    }
}
"""


class LabOps(Protocol):
    """The few things a fault does to the lab: links, nftables, BIRD and swanctl."""

    def set_link(self, node: str, iface: str, up: bool) -> None: ...
    def nft(self, node: str, script: str, missing_ok: bool = False) -> None: ...
    def birdc(self, node: str, command: str) -> str: ...
    def swanctl(self, node: str, *args: str) -> subprocess.CompletedProcess[str]: ...


class FaultAction(Protocol):
    def __call__(self, lab: LabOps) -> None: ...


@dataclass(frozen=True)
class FaultKind:
    """One way the network can fail, with how to cause it and how to undo it."""

    name: str
    description: str
    inject: FaultAction
    undo: FaultAction
    moves_to_vpn: bool = True  # whether traffic is expected to fail over to the VPN


def _links(node: str, *ifaces: str, up: bool) -> FaultAction:
    def act(lab: LabOps) -> None:
        for iface in ifaces:
            lab.set_link(node, iface, up=up)

    return act


def _blackhole(lab: LabOps) -> None:
    lab.nft("provider", BLACKHOLE_NFT)


def _unblackhole(lab: LabOps) -> None:
    lab.nft("provider", "delete table bridge erdrill_fault\n", missing_ok=True)


def _disable_peering(lab: LabOps) -> None:
    lab.birdc("msee", "disable ce")


def _enable_peering(lab: LabOps) -> None:
    lab.birdc("msee", "enable ce")


def _vpn_down(lab: LabOps) -> None:
    lab.nft("vpn-gateway", VPN_BLOCK_NFT)
    lab.swanctl("vpn-gateway", "--terminate", "--ike", "s2s", "--force", "--timeout", "1")
    lab.swanctl("onprem-edge", "--terminate", "--ike", "s2s", "--force", "--timeout", "1")


def _vpn_up(lab: LabOps) -> None:
    lab.nft("vpn-gateway", "delete table inet erdrill_fault\n", missing_ok=True)
    lab.swanctl("onprem-edge", "--initiate", "--child", "s2s", "--timeout", "5")


FAULTS: dict[str, FaultKind] = {
    f.name: f
    for f in (
        FaultKind(
            "provider-link-down",
            "the provider's circuit loses carrier on both sides (CE and Microsoft edge)",
            _links("provider", "ce", "msee", up=False),
            _links("provider", "ce", "msee", up=True),
        ),
        FaultKind(
            "ce-link-down",
            "carrier lost on the customer side only; the Microsoft edge keeps its link",
            _links("provider", "ce", up=False),
            _links("provider", "ce", up=True),
        ),
        FaultKind(
            "provider-blackhole",
            "links stay up, every packet is silently dropped in the provider",
            _blackhole,
            _unblackhole,
        ),
        FaultKind(
            "peering-disabled",
            "the Microsoft edge shuts its BGP session, as when private peering is disabled",
            _disable_peering,
            _enable_peering,
        ),
        FaultKind(
            "vpn-down",
            "the IPsec tunnel goes away; ExpressRoute must keep carrying traffic",
            _vpn_down,
            _vpn_up,
            moves_to_vpn=False,
        ),
    )
}


def fault_kind(name: str) -> FaultKind:
    """Look up a fault kind; an unknown name lists the valid ones."""
    if name not in FAULTS:
        raise ConfigError(
            "lab", "fault", f"unknown fault kind {name!r}", f"use one of {', '.join(FAULTS)}"
        )
    return FAULTS[name]
