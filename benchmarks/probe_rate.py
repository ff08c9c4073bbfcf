"""How fast the prober can probe without fake loss, and how late its probes leave.

Run as root: `.venv/bin/python benchmarks/probe_rate.py`. Builds throwaway namespaces
(`erdt-bench-*`), probes a healthy path at rising total rates (ICMP + TCP), and prints
the highest rate that lost nothing, then send lateness at 1,000 probes/s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from probes.netns import Testbed
from probes.prober import Prober
from probes.samples import Outcome
from targets.base import ProbeTarget

TOTAL_RATES = (1000, 2000, 5000, 8000)
SECONDS = 3.0


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def _run(bed: Testbed, total_rate: float) -> Prober:
    targets = [
        ProbeTarget(bed.SERVER, tcp_port=bed.open_port),
        ProbeTarget(bed.FAR, tcp_port=bed.closed_port),
    ]
    prober = Prober(targets, rate=total_rate / 4, namespace=bed.cli)  # 2 targets x 2 protocols
    with prober:
        time.sleep(SECONDS)
    return prober


def main() -> int:
    best = 0
    with Testbed("erdt-bench") as bed:
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
