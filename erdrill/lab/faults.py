"""The lab's fault kinds: each one injected where a real outage happens, and undone exactly.

Chaos Toolkit's split: a fault is an action with its rollback. The lab calls `inject`
and `undo`; nothing else touches the network to cause or repair an outage. The kinds
that name a link, a circuit or a VPN instance read the topology (through lab/plan.py);
a kind that makes no sense for a topology (a secondary link on a one-link lab) says so
in one line before anything is injected. Kinds combine with `+`
(`circuit-down+vpn-instance-down`): injected left to right, undone right to left.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from erdrill.core.errors import ConfigError
from erdrill.core.faults import undo_every, unknown_fault
from erdrill.lab import bird, swan
from erdrill.lab.plan import ErLink, plan
from erdrill.lab.topology import Topology

__all__ = ["FAULTS", "FaultKind", "LabOps", "fault_kind", "fault_kinds"]

BLACKHOLE_NFT = """table bridge erdrill_fault {
    chain forward {
        type filter hook forward priority 0; policy accept;
        counter drop
    }
}
"""


def _link_blackhole_nft(link: ErLink) -> str:
    ce, msee = link.provider_ports
    return f"""table bridge erdrill_link{link.index} {{
    chain forward {{
        type filter hook forward priority 0; policy accept;
        iifname {{ "{ce}", "{msee}" }} counter drop
    }}
}}
"""


def _vpn_block_nft(ports: set[int]) -> str:
    listed = ", ".join(str(p) for p in sorted(ports))
    return f"""table inet erdrill_fault {{
    chain input {{
        type filter hook input priority 0; policy accept;
        udp dport {{ {listed} }} counter drop
    }}
    chain output {{
        type filter hook output priority 0; policy accept;
        udp sport {{ {listed} }} counter drop
    }}
}}
"""


class LabOps(Protocol):
    """The few things a fault does to the lab: links, nftables, BIRD and swanctl."""

    topology: Topology

    def node_dir(self, node: str) -> Path: ...
    def set_link(self, node: str, iface: str, up: bool) -> None: ...
    def nft(self, node: str, script: str, missing_ok: bool = False) -> None: ...
    def birdc(self, node: str, command: str) -> str: ...
    def swanctl_at(self, end_dir: Path, *args: str) -> subprocess.CompletedProcess[str]: ...


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
    # why this kind makes no sense for a topology ("" when it does)
    unfit: Callable[[Topology], str] = lambda t: ""
    # whether it moves traffic on this topology, when that depends on the shape
    moves_on: Callable[[Topology], bool] | None = None

    def leaves_expressroute(self, t: Topology) -> bool:
        return self.moves_on(t) if self.moves_on else self.moves_to_vpn


def _links_of(lab: LabOps, which: str) -> list[ErLink]:
    """`all`, `primary`, `secondary` (first circuit's) or `circuit` (all first circuit's)."""
    links = plan(lab.topology).links
    first = links[0].circuit
    if which == "all":
        return links
    if which == "circuit":
        return [link for link in links if link.circuit == first]
    return [link for link in links if link.circuit == first and link.role == which]


def _carrier(which: str, *, msee_side: bool = True, up: bool) -> FaultAction:
    def act(lab: LabOps) -> None:
        for link in _links_of(lab, which):
            ce, msee = link.provider_ports
            for port in (ce, msee) if msee_side else (ce,):
                lab.set_link(lab.topology.expressroute.provider, port, up=up)

    return act


def _silent(which: str, *, on: bool) -> FaultAction:
    def act(lab: LabOps) -> None:
        provider = lab.topology.expressroute.provider
        for link in _links_of(lab, which):
            if on:
                lab.nft(provider, _link_blackhole_nft(link))
            else:
                table = f"delete table bridge erdrill_link{link.index}\n"
                lab.nft(provider, table, missing_ok=True)

    return act


def _blackhole(lab: LabOps) -> None:
    lab.nft(lab.topology.expressroute.provider, BLACKHOLE_NFT)


def _unblackhole(lab: LabOps) -> None:
    provider = lab.topology.expressroute.provider
    lab.nft(provider, "delete table bridge erdrill_fault\n", missing_ok=True)


def _peering(enable: bool) -> FaultAction:
    def act(lab: LabOps) -> None:
        for link in plan(lab.topology).links:
            lab.birdc(link.msee, f"{'enable' if enable else 'disable'} ce")

    return act


def _location(up: bool) -> FaultAction:
    """The first circuit's peering location: its links and its MSEEs' gateway links."""
    carrier = _carrier("circuit", up=up)

    def act(lab: LabOps) -> None:
        carrier(lab)
        for link in _links_of(lab, "circuit"):
            lab.set_link(link.msee, "gw", up=up)

    return act


def _maintenance(which: str, on: bool) -> FaultAction:
    """One link's MSEE prepends its AS (Microsoft's step before maintenance)."""

    def act(lab: LabOps) -> None:
        for link in _links_of(lab, which):
            path = lab.node_dir(link.msee) / bird.MAINTENANCE_FILE
            path.write_text(bird.maintenance_conf(on))
            lab.birdc(link.msee, "configure")

    return act


def _vpn(instances: str, up: bool) -> FaultAction:
    """Block IKE and ESP-in-UDP at the instances (`all` or the `first`) and drop their SAs."""

    def act(lab: LabOps) -> None:
        tunnels = plan(lab.topology).tunnels
        names = list(lab.topology.vpn.instances)
        hit = names if instances == "all" else names[:1]
        for inst in hit:
            mine = [tun for tun in tunnels if tun.instance == inst]
            ports = {p for tun in mine for p in tun.ports()}
            if not up:
                lab.nft(inst, _vpn_block_nft(ports))
            else:
                lab.nft(inst, "delete table inet erdrill_fault\n", missing_ok=True)
            for tun in mine:
                dev_dir = swan.end_dir(lab.node_dir(tun.device), tun.device_end)
                if up:
                    lab.swanctl_at(dev_dir, "--initiate", "--child", tun.name, "--timeout", "5")
                    continue
                inst_dir = swan.end_dir(lab.node_dir(inst), tun.instance_end)
                for d in (inst_dir, dev_dir):
                    lab.swanctl_at(d, "--terminate", "--ike", tun.name, "--force", "--timeout", "1")

    return act


def _needs_secondary(t: Topology) -> str:
    if t.expressroute.circuits[0].secondary is None:
        return "the first circuit has no secondary link (expressroute.circuits.0.secondary)"
    return ""


def _needs_two_circuits(t: Topology) -> str:
    if len(t.expressroute.circuits) < 2:
        return "the lab has one circuit; this needs a second peering location"
    return ""


def _needs_two_instances(t: Topology) -> str:
    if len(t.vpn.instances) < 2:
        return "the VPN gateway has one instance; this needs two (active-active)"
    return ""


def _one_circuit(t: Topology) -> bool:
    return len(t.expressroute.circuits) == 1


FAULTS: dict[str, FaultKind] = {
    f.name: f
    for f in (
        FaultKind(
            "provider-link-down",
            "the provider's circuits lose carrier on both sides (CE and Microsoft edge), every link",
            _carrier("all", up=False),
            _carrier("all", up=True),
        ),
        FaultKind(
            "ce-link-down",
            "carrier lost on the customer side only, every link; the Microsoft edge keeps its link",
            _carrier("all", msee_side=False, up=False),
            _carrier("all", msee_side=False, up=True),
        ),
        FaultKind(
            "provider-blackhole",
            "links stay up, every packet is silently dropped in the provider",
            _blackhole,
            _unblackhole,
        ),
        FaultKind(
            "peering-disabled",
            "the Microsoft edges shut their BGP sessions, as when private peering is disabled",
            _peering(enable=False),
            _peering(enable=True),
        ),
        FaultKind(
            "vpn-down",
            "every IPsec tunnel goes away; ExpressRoute must keep carrying traffic",
            _vpn("all", up=False),
            _vpn("all", up=True),
            moves_to_vpn=False,
        ),
        FaultKind(
            "primary-link-down",
            "the first circuit's primary link loses carrier; the secondary carries on",
            _carrier("primary", up=False),
            _carrier("primary", up=True),
            moves_to_vpn=False,
            unfit=_needs_secondary,
        ),
        FaultKind(
            "primary-link-silent",
            "the first circuit's primary link silently drops everything; the secondary carries on",
            _silent("primary", on=True),
            _silent("primary", on=False),
            moves_to_vpn=False,
            unfit=_needs_secondary,
        ),
        FaultKind(
            "secondary-link-down",
            "the first circuit's secondary link loses carrier; the primary carries on",
            _carrier("secondary", up=False),
            _carrier("secondary", up=True),
            moves_to_vpn=False,
            unfit=_needs_secondary,
        ),
        FaultKind(
            "secondary-link-silent",
            "the first circuit's secondary link silently drops everything; the primary carries on",
            _silent("secondary", on=True),
            _silent("secondary", on=False),
            moves_to_vpn=False,
            unfit=_needs_secondary,
        ),
        FaultKind(
            "circuit-down",
            "both links of the first circuit lose carrier (the VPN takes over unless a second "
            "circuit carries on)",
            _carrier("circuit", up=False),
            _carrier("circuit", up=True),
            moves_on=_one_circuit,
        ),
        FaultKind(
            "peering-location-down",
            "the first circuit's peering location goes dark; the circuit at the other carries on",
            _location(up=False),
            _location(up=True),
            moves_to_vpn=False,
            unfit=_needs_two_circuits,
        ),
        FaultKind(
            "vpn-instance-down",
            "the VPN gateway's first instance goes away; the other instance carries on",
            _vpn("first", up=False),
            _vpn("first", up=True),
            moves_to_vpn=False,
            unfit=_needs_two_instances,
        ),
        FaultKind(
            "msee-maintenance",
            "the primary link's Microsoft edge prepends its AS before maintenance; traffic "
            "moves to the other link with no loss",
            _maintenance("primary", on=True),
            _maintenance("primary", on=False),
            moves_to_vpn=False,
            unfit=_needs_secondary,
        ),
        FaultKind(
            "secondary-msee-maintenance",
            "the secondary link's Microsoft edge prepends its AS before maintenance; traffic "
            "already on the primary stays there",
            _maintenance("secondary", on=True),
            _maintenance("secondary", on=False),
            moves_to_vpn=False,
            unfit=_needs_secondary,
        ),
    )
}


def _combined(parts: list[FaultKind], t: Topology | None) -> FaultKind:
    def inject(lab: LabOps) -> None:
        for part in parts:
            part.inject(lab)

    def undo(lab: LabOps) -> None:
        undo_every((p.name, functools.partial(p.undo, lab)) for p in reversed(parts))

    return FaultKind(
        "+".join(p.name for p in parts),
        ", then ".join(p.description for p in parts),
        inject,
        undo,
        moves_to_vpn=any(p.leaves_expressroute(t) if t else p.moves_to_vpn for p in parts),
    )


def fault_kind(name: str, topology: Topology | None = None) -> FaultKind:
    """Look up a fault kind (or `a+b` to combine); an unknown or unfit name fails in one line."""
    parts = name.split("+")
    for part in parts:
        if part not in FAULTS:
            raise unknown_fault("lab", part, list(FAULTS))
        problem = FAULTS[part].unfit(topology) if topology is not None else ""
        if problem and topology is not None:
            raise ConfigError(
                "lab", "fault", f"{part} does not fit topology {topology.name!r}: {problem}"
            )
    if len(parts) == 1:
        return FAULTS[name]
    return _combined([FAULTS[p] for p in parts], topology)


def fault_kinds(topology: Topology) -> list[str]:
    """The fault kinds that make sense for a topology."""
    return [name for name, f in FAULTS.items() if not f.unfit(topology)]
