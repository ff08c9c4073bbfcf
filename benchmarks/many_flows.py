"""Benchmark: the prober with many flows on a healthy redundant lab.

On `redundant.yaml` (two links on two CEs, active-active VPN, two workload subnets, two
spokes), FLOWS flows (ICMP + TCP to every workload and spoke, spread over TCP ports) at
RATE probes/s each for SECONDS: how many probes were lost or late (goal: none).
Lab up and down per shape: benchmarks/lab_updown.py.

Run as root: .venv/bin/python benchmarks/many_flows.py [FLOWS] [RATE] [RUNS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from erdrill.lab.lab import Lab
from erdrill.lab.topology import DEFAULT_TOPOLOGY, load_topology
from erdrill.probes.prober import Prober
from erdrill.probes.samples import Outcome
from erdrill.probes.target import ProbeTarget

PREFIX = "erd-bench"
REDUNDANT = DEFAULT_TOPOLOGY.parent / "redundant.yaml"
SECONDS = 5.0


def many_flows(flows: int, rate: float) -> None:
    topo = load_topology(REDUNDANT).model_copy(update={"prefix": PREFIX})
    with tempfile.TemporaryDirectory() as root:
        lab = Lab(topo, run_root=Path(root))
        lab.up()
        try:
            from erdrill.targets.lab import LabTarget

            target = LabTarget(lab)
            hosts = [t.address for t in target.probe_targets()]
            # each ProbeTarget is two flows (ICMP echo + TCP SYN); vary the TCP port
            port = topo.azure.workload_tcp_port
            targets = [
                ProbeTarget(hosts[i % len(hosts)], tcp_port=port + i // len(hosts), name=f"f{i}")
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
    flows = int(args[0]) if args else 100
    rate = float(args[1]) if len(args) > 1 else 100.0
    for _ in range(int(args[2]) if len(args) > 2 else 3):
        many_flows(flows, rate)


if __name__ == "__main__":
    main()
