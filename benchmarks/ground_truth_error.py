"""Benchmark: measured failover outage against the lab's ground-truth event log.

For each fault, the prober runs at RATE per flow (ICMP + TCP to the workload), the fault
is injected, and the measured outage is compared with what the event log bounds: from
the first route change (minus how long the injection took) to the last route change.

Run as root: .venv/bin/python benchmarks/ground_truth_error.py [FAULTS] [RATE]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from erdrill.core.paths import ON_VPN
from erdrill.drill.ground_truth import summarize_ground_truth
from erdrill.lab.lab import Lab
from erdrill.lab.topology import load_topology
from erdrill.probes.measure import measure_transition
from erdrill.probes.prober import Prober
from erdrill.targets.lab import LabTarget

KINDS = ("ce-link-down", "provider-blackhole", "peering-disabled", "provider-link-down")


def one(lab: Lab, kind: str, rate: int) -> tuple[float, float, float]:
    """(measured outage, log low bound, log high bound) in ms for one fault."""
    target = LabTarget(lab)
    prober = Prober(target.probe_targets(), rate=rate, namespace=target.probe_namespace()).start()
    try:
        time.sleep(0.5)
        fault_at = time.time()
        lab.inject(kind)
        lab.wait_paths(ON_VPN, timeout=20)
        time.sleep(1.5)
    finally:
        samples = prober.stop()
        lab.restore(kind)
    fo = measure_transition(samples, fault_at, rate_per_flow=rate, sustain_s=1.0)
    truth = summarize_ground_truth(lab.ground_truth(fault_at - 1), fault_at, None)
    changes = list(truth["failover_route_change_ms"].values())
    low = min(changes) - (truth["fault_injection_ms"] or 0.0)
    return float(fo.outage_ms or 0.0), low, max(changes)


def main(faults: int = 12, rate: int = 500) -> None:
    interval = 1000.0 / rate
    topo = load_topology().model_copy(update={"prefix": "erd-bench-gt"})
    rows = []
    with tempfile.TemporaryDirectory() as root:
        lab = Lab(topo, run_root=Path(root))
        lab.up()
        try:
            for i in range(faults):
                kind = KINDS[i % len(KINDS)]
                measured, low, high = one(lab, kind, rate)
                error = (
                    0.0
                    if low <= measured <= high
                    else min(abs(measured - low), abs(measured - high))
                )
                rows.append((kind, measured, low, high, error))
                print(
                    f"{kind:<20} measured {measured:8.1f} ms   log bounds {low:8.1f}-{high:8.1f} ms"
                    f"   measured - last route change {measured - high:+7.1f} ms"
                    f"   error outside bounds {error:6.1f} ms"
                )
        finally:
            lab.down()
    errors = [r[4] for r in rows]
    to_last = [abs(r[1] - r[3]) for r in rows]
    within = sum(1 for e in errors if e <= 2 * interval)
    print(
        f"faults={len(rows)} rate={rate}/s per flow (sampling interval {interval:.1f} ms): "
        f"error median {statistics.median(errors):.1f} ms, max {max(errors):.1f} ms; "
        f"{within}/{len(rows)} within two sampling intervals of the log's bounds; "
        f"|measured - last route change| median {statistics.median(to_last):.1f} ms, "
        f"max {max(to_last):.1f} ms"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
