"""Benchmark: lab up and down per shape, and the prober with many flows on a redundant lab.

Shapes: the default (one link, one tunnel), `redundant.yaml` (two links on two CEs,
active-active VPN, two workload subnets, two spokes) and the redundant lab with 16 spokes.
Then, on the redundant lab, FLOWS flows (ICMP + TCP to every workload and spoke, spread
over TCP ports) at RATE probes/s each for SECONDS: how many probes were lost or late.

Run as root: .venv/bin/python benchmarks/lab_shapes.py [RUNS] [FLOWS] [RATE]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lab.lab import Lab
from lab.topology import DEFAULT_TOPOLOGY, Topology, load_topology, parse_topology
from probes.prober import Prober
from probes.samples import Outcome
from probes.target import ProbeTarget

PREFIX = "erd-bench"
REDUNDANT = DEFAULT_TOPOLOGY.parent / "redundant.yaml"
SECONDS = 5.0


def with_spokes(count: int) -> Topology:
    """The redundant lab with `count` spokes (10.2.0.0/16, 10.3.0.0/16, ...)."""
    data: dict[str, Any] = yaml.safe_load(REDUNDANT.read_text(encoding="utf-8"))
    data["azure"]["spokes"] = {
        f"spoke{i}": {
            "vnet": f"10.{i + 1}.0.0/16",
            "subnets": {
                "app": {"prefix": f"10.{i + 1}.1.0/24", "hosts": {f"s{i}-app": f"10.{i + 1}.1.4"}}
            },
        }
        for i in range(1, count + 1)
    }
    data["name"] = f"spokes-{count}"
    return parse_topology(data, f"redundant.yaml with {count} spokes")


def _stats(values: list[float]) -> str:
    return f"median={statistics.median(values):.2f}s min={min(values):.2f}s max={max(values):.2f}s"


def up_down(name: str, topo: Topology, runs: int) -> None:
    ups, downs = [], []
    with tempfile.TemporaryDirectory() as root:
        lab = Lab(topo.model_copy(update={"prefix": PREFIX}), run_root=Path(root))
        lab.down()
        for _ in range(runs):
            t0 = time.monotonic()
            lab.up()
            t1 = time.monotonic()
            lab.down()
            downs.append(time.monotonic() - t1)
            ups.append(t1 - t0)
    print(f"{name:<22} up (to steady state) runs={runs} {_stats(ups)}")
    print(f"{'':<22} down                 runs={runs} {_stats(downs)}")


def many_flows(flows: int, rate: float) -> None:
    topo = load_topology(REDUNDANT).model_copy(update={"prefix": PREFIX})
    with tempfile.TemporaryDirectory() as root:
        lab = Lab(topo, run_root=Path(root))
        lab.up()
        try:
            from targets.lab import LabTarget

            target = LabTarget(lab)
            hosts = [t.address for t in target.probe_targets()]
            # each ProbeTarget is two flows (ICMP echo + TCP SYN); vary the TCP port
            targets = [
                ProbeTarget(hosts[i % len(hosts)], tcp_port=443 + i // len(hosts), name=f"f{i}")
                for i in range(flows // 2)
            ]
            prober = Prober(targets, rate=rate, namespace=target.probe_namespace()).start()
            time.sleep(SECONDS)
            samples = prober.stop()
        finally:
            lab.down()
    lost = sum(1 for s in samples if s.outcome is Outcome.LOST)
    late = sum(1 for s in samples if s.outcome is Outcome.LATE)
    sent_rate = len(samples) / SECONDS
    print(
        f"prober, redundant lab: {len(targets) * 2} flows x {rate:g}/s for {SECONDS:g} s "
        f"({len(hosts)} workloads): sent {len(samples)} ({sent_rate:.0f}/s), "
        f"lost {lost}, late {late}"
    )


def main() -> None:
    args = sys.argv[1:]
    runs = int(args[0]) if args else 3
    flows = int(args[1]) if len(args) > 1 else 100
    rate = float(args[2]) if len(args) > 2 else 100.0
    up_down("default", load_topology(), runs)
    up_down("redundant", load_topology(REDUNDANT), runs)
    up_down("redundant, 16 spokes", with_spokes(16), runs)
    many_flows(flows, rate)


if __name__ == "__main__":
    main()
