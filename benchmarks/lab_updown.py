"""Benchmark: how long the lab takes to come up (to steady state) and to go down.

Run as root: .venv/bin/python benchmarks/lab_updown.py [RUNS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from lab.lab import Lab
from lab.topology import load_topology


def main(runs: int = 5) -> None:
    topo = load_topology().model_copy(update={"prefix": "erd-bench"})
    ups, downs = [], []
    with tempfile.TemporaryDirectory() as root:
        lab = Lab(topo, run_root=Path(root))
        lab.down()
        for _ in range(runs):
            t0 = time.monotonic()
            lab.up()
            t1 = time.monotonic()
            lab.down()
            t2 = time.monotonic()
            ups.append(t1 - t0)
            downs.append(t2 - t1)
    print(
        f"lab up   (fast profile, to steady state): runs={runs} "
        f"median={statistics.median(ups):.2f}s min={min(ups):.2f}s max={max(ups):.2f}s"
    )
    print(
        f"lab down (every process and namespace):   runs={runs} "
        f"median={statistics.median(downs):.2f}s min={min(downs):.2f}s max={max(downs):.2f}s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
