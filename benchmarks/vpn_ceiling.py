"""Benchmark: the highest total probe rate the lab's VPN path carries with nothing lost.

Builds a lab (default topology, or --topology FILE), moves traffic onto the VPN with a
fault (--fault, default circuit-down), waits until every flow is on the VPN, then searches
the ceiling: ICMP + TCP to every workload from the probe host, doubling the total rate
from 1,000/s until a probe is lost, then halving the gap (SECONDS each try). The lab's
ESP runs in user space, so this is far below what the prober sends over ExpressRoute.
--save keeps the figure in the state folder ($ERDRILL_STATE_DIR/lab-vpn-ceiling.json):
lab drills then refuse a total probe rate above it (erdrill/targets/vpn_ceiling.py).

Run as root: .venv/bin/python benchmarks/vpn_ceiling.py [--topology FILE] [--fault KIND]
[--prefix PREFIX] [--seconds S] [--save]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from erdrill.core.paths import ON_VPN
from erdrill.lab.lab import Lab
from erdrill.lab.topology import load_topology
from erdrill.probes.ceiling import probe_at, search_ceiling
from erdrill.targets.lab import LabTarget
from erdrill.targets.vpn_ceiling import save_vpn_ceiling


def main() -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--topology", type=Path, default=None)
    args.add_argument("--fault", default="circuit-down")
    args.add_argument("--prefix", default="erd-bench-vpn")
    args.add_argument("--seconds", type=float, default=3.0)
    args.add_argument("--save", action="store_true")
    opts = args.parse_args()
    topo = load_topology(opts.topology).model_copy(update={"prefix": opts.prefix})
    with tempfile.TemporaryDirectory() as root:
        lab = Lab(topo, run_root=Path(root))
        lab.up()
        try:
            lab.inject(opts.fault)
            lab.wait_paths(ON_VPN, timeout=30)
            target = LabTarget(lab)
            targets, namespace = target.probe_targets(), target.probe_namespace()
            print(f"path: the VPN ({opts.fault}), {len(targets)} workloads x ICMP + TCP")
            best, tries = search_ceiling(lambda r: probe_at(targets, namespace, r, opts.seconds))
        finally:
            lab.down()
    for t in tries:
        print(t.line())
    print(f"VPN ceiling: {best:,} probes/s in all with nothing lost ({opts.seconds:g} s a try)")
    if opts.save:
        print(f"saved: {save_vpn_ceiling(best, topo.name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
