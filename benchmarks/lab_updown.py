"""Benchmark: how long the lab takes to come up (to steady state) and to go down.

Run as root: .venv/bin/python benchmarks/lab_updown.py [RUNS] [TOPOLOGY] [--spokes N]
(TOPOLOGY: a shipped name such as redundant, or a file; --spokes N replaces the spokes
with N generated ones, 10.<2+i>.0.0/16 each with one workload.)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

import yaml

from erdrill.lab.lab import Lab
from erdrill.lab.topology import DEFAULT_TOPOLOGY, Topology, load_topology, parse_topology


def topology(name: str, spokes: int | None) -> Topology:
    path = DEFAULT_TOPOLOGY.parent / f"{name}.yaml"
    topo = load_topology(path if path.exists() else name)
    if spokes is not None:
        data = topo.model_dump(exclude={"source"})
        data["azure"]["spokes"] = {
            f"spoke{i}": {
                "vnet": f"10.{2 + i}.0.0/16",
                "subnets": {"app": {"prefix": f"10.{2 + i}.1.0/24",
                                    "hosts": {f"spoke{i}-app": f"10.{2 + i}.1.4"}}},
            }
            for i in range(spokes)
        }  # fmt: skip
        topo = parse_topology(yaml.safe_load(yaml.safe_dump(data)), f"{name}+{spokes} spokes")
    return topo.model_copy(update={"prefix": "erd-bench"})


def main(runs: int = 5, name: str = "default", spokes: int | None = None) -> None:
    topo = topology(name, spokes)
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
    print(f"topology {topo.source or name}: {len(topo.nodes)} namespaces")
    print(
        f"lab up   (fast profile, to steady state): runs={runs} "
        f"median={statistics.median(ups):.2f}s min={min(ups):.2f}s max={max(ups):.2f}s"
    )
    print(
        f"lab down (every process and namespace):   runs={runs} "
        f"median={statistics.median(downs):.2f}s min={min(downs):.2f}s max={max(downs):.2f}s"
    )


if __name__ == "__main__":
    args = sys.argv[1:]
    n_spokes = None
    if "--spokes" in args:
        i = args.index("--spokes")
        n_spokes = int(args[i + 1])
        del args[i : i + 2]
    main(int(args[0]) if args else 5, args[1] if len(args) > 1 else "default", n_spokes)
