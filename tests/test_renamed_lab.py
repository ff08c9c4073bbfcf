"""Nothing in erdrill assumes a node name, address, ASN, port or prefix: the reference
drill (the documented plan and every lab fault) passes on a lab where each of them differs
from the shipped topologies (tests/fixtures/renamed-topology.yaml)."""

from __future__ import annotations

import ipaddress
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from drillrun import PYTEST, REPO, output, records, session_prefix

from erdrill.lab.topology import DEFAULT_TOPOLOGY, Topology, load_topology

RENAMED = Path(__file__).parent / "fixtures" / "renamed-topology.yaml"
SHIPPED = sorted(DEFAULT_TOPOLOGY.parent.glob("*.yaml"))
REFERENCE_DRILL = "documented or traffic_moves"  # failover.feature and lab_faults.feature


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in (k, *_leaves(v))]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v)]
    return [value]


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_network(str(value), strict=False)
    except ValueError:
        return False
    return isinstance(value, str)


def names_and_numbers(t: Topology) -> set[str]:
    """The topology's node names, addresses, prefixes, ASNs and the workload port."""
    found = {*t.nodes, str(t.azure.workload_tcp_port)}
    found |= {str(a) for a in (t.onprem.asn, t.expressroute.asn, t.azure.asn)}
    found |= {str(v) for v in _leaves(t.model_dump()) if _is_ip(v)}
    return found


@pytest.mark.parametrize("shipped", SHIPPED, ids=lambda p: p.stem)
def test_the_renamed_topology_shares_no_name_or_number_with_a_shipped_one(shipped: Path) -> None:
    ours, theirs = load_topology(RENAMED), load_topology(shipped)
    assert names_and_numbers(ours) & names_and_numbers(theirs) == set()
    assert ours.probe_host not in theirs.nodes


@pytest.mark.slow
def test_the_reference_drill_passes_on_the_renamed_lab(drill_workspace: Path) -> None:
    topology = drill_workspace / "renamed.yaml"
    prefix = session_prefix("erd-ren")
    topology.write_text(RENAMED.read_text().replace("prefix: erd-nc-ren", f"prefix: {prefix}"))
    config = drill_workspace / "drill.toml"
    config.write_text("[drill]\nprobe_rate = 200\nsustain_s = 0.5\n")
    drills = drill_workspace / "drills"
    drills.mkdir()
    with (drills / "out.txt").open("w") as out:
        proc = subprocess.run(
            [
                PYTEST,
                str(REPO / "features"),
                "-p",
                "no:cacheprovider",
                "-k",
                REFERENCE_DRILL,
                "--lab-topology",
                str(topology),
                "--drill-config",
                str(config),
                "--drills-dir",
                str(drills),
            ],
            cwd=drill_workspace,
            env={**os.environ, "COLUMNS": "100"},
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=False,
        )
    text = output(drills)
    assert proc.returncode == 0, text[-6000:]
    done = records(drills)
    assert len(done) == 6 and {r["verdict"] for r in done} == {"passed"}, text[-6000:]
    # named as in the feature files (not by pytest function), with the outline's row
    by_feature = {r["feature"]: r for r in done}
    plan = by_feature["features/failover.feature"]
    assert plan["scenario"].startswith("The documented test plan: the provider stops")
    rows = sorted(
        r["example"]["fault"] for r in done if r["feature"].endswith("lab_faults.feature")
    )
    assert rows == sorted(["provider-link-down", "ce-link-down", "provider-blackhole",
                           "peering-disabled", "vpn-down"])  # fmt: skip
    assert all(r["scenario"].startswith(r["fault"]) for r in done if r["example"])
    summary = text[text.index("erdrill drill summary") :]
    assert max(len(line) for line in summary.splitlines()) <= 100, summary
    assert "test_" not in summary.split("drill freshness")[0], summary
