"""What the lab's VPN path carries: the probe rate above which the lab itself drops probes.

The lab's VPN runs ESP in user space (strongSwan's kernel-libipsec), which drops packets
well below what the prober sends or the ExpressRoute path carries. A drill probing faster
would report the lab's own drops as convergence loss, so a lab drill whose total probe
rate (probe_rate x workloads x ICMP and TCP) is above the ceiling is refused before the
lab is built. The ceiling is the one `benchmarks/vpn_ceiling.py` measured on this machine
(kept in the state folder), else `DEFAULT_VPN_CEILING`.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from erdrill.core import journal
from erdrill.core.errors import ConfigError
from erdrill.core.files import write_atomic
from erdrill.lab.plan import plan
from erdrill.lab.topology import Topology

__all__ = [
    "CEILING_FILE",
    "DEFAULT_VPN_CEILING",
    "PROTOCOLS",
    "VpnCeiling",
    "check_probe_rate",
    "lab_vpn_ceiling",
    "save_vpn_ceiling",
    "total_probe_rate",
]

# benchmarks/vpn_ceiling.py on the development VM (2 cores, shared, 2026-12-06): 8,000
# probes/s in all with nothing lost, 1.1 % lost at 8,250/s; half of it leaves room for a
# busier or slower machine. A measurement on this machine (--save) replaces it.
DEFAULT_VPN_CEILING = 4000
CEILING_FILE = "lab-vpn-ceiling.json"
PROTOCOLS = 2  # a drill probes every target with ICMP and TCP


@dataclass(frozen=True, slots=True)
class VpnCeiling:
    probes_per_s: int
    source: str  # where the figure comes from, in words


def _path(state_dir: Path | None) -> Path:
    return (state_dir or journal.STATE_DIR) / CEILING_FILE


def lab_vpn_ceiling(state_dir: Path | None = None) -> VpnCeiling:
    """The ceiling measured on this machine, else the default."""
    path = _path(state_dir)
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        data = json.loads(path.read_text(encoding="utf-8"))
        return VpnCeiling(int(data["probes_per_s"]), f"measured {data['measured_at']} ({path})")
    return VpnCeiling(
        DEFAULT_VPN_CEILING, "erdrill's default; benchmarks/vpn_ceiling.py measures it"
    )


def save_vpn_ceiling(probes_per_s: int, topology: str, state_dir: Path | None = None) -> Path:
    """Keep a measured ceiling for the drills on this machine."""
    path = _path(state_dir)
    at = time.strftime("%Y-%m-%d", time.gmtime())
    doc = {"probes_per_s": probes_per_s, "measured_at": at, "topology": topology}
    write_atomic(path, json.dumps(doc, indent=2) + "\n")
    return path


def total_probe_rate(topology: Topology, rate: int) -> int:
    """Probes/s a drill sends in all: `rate` per workload and protocol."""
    return rate * len(plan(topology).workloads) * PROTOCOLS


def check_probe_rate(
    topology: Topology, rate: int, source: str = "drill config", state_dir: Path | None = None
) -> None:
    """Refuse a probe rate the lab's VPN path cannot carry (ConfigError, one line)."""
    ceiling = lab_vpn_ceiling(state_dir)
    total = total_probe_rate(topology, rate)
    if total <= ceiling.probes_per_s:
        return
    flows = total // rate
    most = ceiling.probes_per_s // flows
    raise ConfigError(
        source,
        "[drill] probe_rate",
        f"{rate}/s x {flows} flows = {total:,} probes/s is above the {ceiling.probes_per_s:,}/s "
        f"the lab's VPN path carries ({ceiling.source}); it would count the lab's own drops "
        "as loss",
        f"set probe_rate to at most {most}",
    )
