"""How fast the prober can probe without fake loss, and how late its probes leave.

Run as root: `.venv/bin/python benchmarks/probe_rate.py [--lab]`. Probes a healthy path at
rising total rates (ICMP + TCP) and prints the highest rate that lost nothing, then send
lateness at 1,000 probes/s. By default the path is throwaway namespaces (`erdt-bench-*`);
with --lab it is the real lab (prefix erd-bench-rate): from onprem-host over ExpressRoute
to the workload (TCP 443, open) and the VNet router (TCP 443, closed: RST answers).
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the testbed

from testbed import Testbed

from erdrill.probes.prober import Prober
from erdrill.probes.samples import Outcome
from erdrill.probes.target import ProbeTarget

TOTAL_RATES = (1000, 2000, 5000, 8000)
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

    topo = load_topology().model_copy(update={"prefix": "erd-bench-rate"})
    with tempfile.TemporaryDirectory() as root:
        lab = Lab(topo, run_root=Path(root))
        lab.up()
        try:
            router = topo.workload_address.rsplit(".", 1)[0] + ".1"  # the VNet router
            yield (
                [
                    ProbeTarget(topo.workload_address, tcp_port=topo.azure.workload_tcp_port),
                    ProbeTarget(router, tcp_port=topo.azure.workload_tcp_port),
                ],
                lab.namespace("onprem-host"),
            )
        finally:
            lab.down()


def main() -> int:
    best = 0
    use_lab = "--lab" in sys.argv[1:]
    print(
        f"path: {'the lab, on-prem host to the VNet over ExpressRoute' if use_lab else 'testbed namespaces'}"
    )
    with _path(use_lab) as bed:
        for total in TOTAL_RATES:
            prober = _run(bed, total)
            samples = prober.samples
            lost = sum(1 for s in samples if s.outcome is not Outcome.REPLY)
            achieved = len(samples) / SECONDS
            drops = prober.snapshot().capture_drops
            print(
                f"{total:>6} probes/s asked: {achieved:8.0f} sent/s, {len(samples)} sent, "
                f"{lost} lost, {drops} capture drops, {prober.send_errors} send errors"
            )
            if lost == 0 and drops == 0 and achieved >= total * 0.95:
                best = total
        prober = _run(bed, 1000)
        late_us = [x * 1e6 for x in prober.lateness]
    print(f"highest total rate with no loss: {best} probes/s (ICMP + TCP, {SECONDS:.0f} s each)")
    print(
        f"send lateness at 1,000 probes/s: p50 {_percentile(late_us, 50):.1f} us, "
        f"p99 {_percentile(late_us, 99):.1f} us, max {max(late_us):.1f} us"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
