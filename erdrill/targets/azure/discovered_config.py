"""The drill config `erdrill discover` writes: TOML, with every undecided value a
commented choice listing the candidates it found."""

from __future__ import annotations

import json
from typing import Any

from erdrill.targets.azure.discover import Discovered

__all__ = ["render"]


def _value(v: Any) -> str:
    return json.dumps(v)  # TOML basic strings and arrays of them read as JSON does


def _line(key: str, found: Discovered) -> list[str]:
    lines = [f"{key} = {_value(found.values[key])}"]
    others = found.choices.get(key, [])
    if others:
        lines.append(f"# {key}: {len(others)} candidates, the first is written above; or one of:")
        lines += [f"#   {c}" for c in others]
    return lines


def render(
    found: Discovered,
    subscription_id: str,
    resource_group: str,
    source: str,
    *,
    lab_face: bool = False,
) -> str:
    """The drill config for `pytest features/ --target azure` (and `--allow-disruption`)."""
    out = [
        f"# Written by `erdrill discover` from {source}: read-only ARM reads of resource group",
        f"# {resource_group}. Check every value; choices it could not make are comments.",
        "# Run: pytest features/ --target azure --drill-config THIS_FILE --plan (prints every",
        "# write), then with --allow-disruption in a maintenance window.",
        "",
        "[drill]",
        'failover_limit_s = 15       # resiliency validation: "typically within 15 seconds"',
        "failback_limit_s = 60",
        "abort_limit_s = 180         # MSEE hold time without BFD",
        "",
        "[probe]",
        '# namespace = "..."         # a network namespace on-premises to probe from; else this host',
        "",
        "[[probe.targets]]",
        f"address = {_value(found.probe_address)}   # the NIC's address; the VM must run and",
        "tcp_port = 443              # answer TCP on tcp_port (change it to a port it serves)",
        'name = "workload"',
    ]
    for choice in found.choices.get("probe address", []):
        out.append(f"# or address of: {choice}")
    out += ["", "[target]", 'kind = "azure"', "", "[azure]"]
    out.append(f"subscription_id = {_value(subscription_id)}")
    out.append(f"resource_group = {_value(resource_group)}")
    for key in ("circuit", "er_gateway", "vpn_gateway", "vpn_connection", "nic"):
        out += _line(key, found)
    out.append('peering = "AzurePrivatePeering"')
    out += _line("onprem_prefixes", found)
    out += [f"# {n}" for n in found.notes]
    links = "two links carry BGP" if found.links >= 2 else f"{found.links} link(s) carry BGP"
    out.append(f"# the circuit: {links}; peering location {found.values['peering_location']}")
    out.append("# fault_method: how to take ExpressRoute away; the ones this circuit fits:")
    out += [f"#   {c}" for c in found.choices.get("fault_method", [])]
    out.append(f"fault_method = {_value(found.values['fault_method'])}")
    if lab_face:
        out += [
            'arm_endpoint = "lab"       # the lab\'s Azure face (discovered through it)',
            "poll_interval_s = 1",
            "operation_timeout_s = 60",
        ]
    locations = sorted({loc for _, loc in found.circuits if loc})
    out.append(f"peering_location = {_value(found.values['peering_location'])}")
    if len(locations) >= 2:
        out.append("# two peering locations: site-failover-simulation fits; describe them:")
        for name, loc in found.circuits:
            out += [
                "# [[azure.circuits]]",
                f"# name = {_value(name)}",
                f"# peering_location = {_value(loc)}",
            ]
    else:
        out.append(
            f"# one peering location ({', '.join(locations) or '?'}): no site failover "
            "simulation (it needs circuits in two)"
        )
    return "\n".join(out) + "\n"
