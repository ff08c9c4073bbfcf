"""How fast the prober can probe without fake loss, and how late its probes leave.

Run as root: `.venv/bin/python benchmarks/probe_rate.py [--lab]`. Searches the highest
total rate (ICMP + TCP) a healthy path carries with nothing lost (doubling from 1,000/s,
then halving the gap: erdrill/probes/ceiling.py), then send lateness at 1,000 probes/s. By default the path is throwaway namespaces (`erdt-bench-*`);
with --lab it is the real lab (prefix erd-bench-rate, or $ERDRILL_LAB_PREFIX): from the probe host over ExpressRoute
to the workload (its TCP port, open) and the VNet router (the same port, closed: RST answers).
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the testbed

from testbed import Testbed

from erdrill.probes.ceiling import probe_at, search_ceiling
from erdrill.probes.prober import Prober
from erdrill.probes.target import ProbeTarget

SECONDS = 3.0


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _run(path: tuple[list[ProbeTarget], str], total_rate: float) -> Prober:
    targets, namespace = path
    prober = Prober(targets, rate=total_rate / 4, namespace=namespace)  # 2 targets x 2 protocols
    with prober:
        time.sleep(SECONDS)
    return prober


@contextlib.contextmanager
def _path(use_lab: bool) -> Iterator[tuple[list[ProbeTarget], str]]:
    """Two targets and the namespace to probe them from."""
    if not use_lab:
        with Testbed("erdt-bench") as bed:
            yield (
                [
                    ProbeTarget(bed.SERVER, tcp_port=bed.open_port),
                    ProbeTarget(bed.FAR, tcp_port=bed.closed_port),
                ],
                bed.cli,
            )
        return
    from erdrill.lab.lab import Lab
    from erdrill.lab.topology import load_topology

    prefix = os.environ.get("ERDRILL_LAB_PREFIX", "erd-bench-rate")
    topo = load_topology().model_copy(update={"prefix": prefix})
    with tempfile.TemporaryDirectory() as root:
        lab = Lab(topo, run_root=Path(root))
        lab.up()
        try:
            subnet = next(iter(topo.azure.subnets.values())).prefix
            router = str(ipaddress.IPv4Network(subnet)[1])  # the VNet router holds the first
            yield (
                [
                    ProbeTarget(topo.workload_address, tcp_port=topo.azure.workload_tcp_port),
                    ProbeTarget(router, tcp_port=topo.azure.workload_tcp_port),
                ],
                lab.namespace(topo.probe_host),
            )
        finally:
            lab.down()


def main() -> int:
    use_lab = "--lab" in sys.argv[1:]
    where = "the lab, on-prem host to the VNet over ExpressRoute" if use_lab else "testbed"
    print(f"path: {where}")
    with _path(use_lab) as (targets, namespace):
        best, tries = search_ceiling(lambda r: probe_at(targets, namespace, r, SECONDS))
        prober = _run((targets, namespace), 1000)
        late_us = [x * 1e6 for x in prober.lateness]
    for t in tries:
        print(t.line())
    print(f"highest total rate with no loss: {best:,} probes/s (ICMP + TCP, {SECONDS:.0f} s each)")
    print(
        f"send lateness at 1,000 probes/s: p50 {_percentile(late_us, 50):.1f} us, "
        f"p99 {_percentile(late_us, 99):.1f} us, max {max(late_us):.1f} us"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
