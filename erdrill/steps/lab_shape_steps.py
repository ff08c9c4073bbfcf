"""Steps for labs of other shapes (redundant links, active-active VPN, two peering locations).

Each shape is built once per session beside the session's lab, under a prefix derived from
the session's own, and torn down at the end (kept with --keep-lab).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then

from erdrill.core.settings import DrillOptions
from erdrill.drill.engine import Drill
from erdrill.lab.topology import load_topology
from erdrill.targets.lab import LabTarget
from erdrill.targets.vpn_ceiling import check_probe_rate

__all__ = ["shape_prefix"]


def shape_prefix(session_topology: Path | None, shape: str) -> str:
    """`<session prefix, cut to 12>-<first three letters of the shape>`: erd-lab-red, ..."""
    return f"{load_topology(session_topology).prefix[:12]}-{shape[:3]}"


@pytest.fixture(scope="session")
def shaped_labs(pytestconfig: pytest.Config) -> Iterator[dict[str, LabTarget]]:
    labs: dict[str, LabTarget] = {}
    yield labs
    if not pytestconfig.getoption("keep_lab"):
        for target in labs.values():
            target.teardown()


@given(parsers.parse('the lab built from the topology "{shape}"'), target_fixture="target")
def shaped_lab(
    shape: str,
    shaped_labs: dict[str, LabTarget],
    pytestconfig: pytest.Config,
    options: DrillOptions,
) -> LabTarget:
    if shape not in shaped_labs:
        prefix = shape_prefix(pytestconfig.getoption("lab_topology"), shape)
        target = LabTarget.shipped(shape, prefix)
        check_probe_rate(target.lab.topology, options.settings.rate)  # before it is built
        shaped_labs[shape] = target
    return shaped_labs[shape]


@given("probes run from on-premises to every workload")
def probes_to_every_workload(drill: Drill) -> None:
    drill.start_probes()


@then(parsers.parse("every flow uses {path} in both directions within {seconds:g} seconds"))
def every_flow_on(target: LabTarget, path: str, seconds: float) -> None:
    target.wait_flows_on(path, seconds)


@then("both ExpressRoute links and both VPN tunnels carry their BGP sessions")
def links_and_tunnels_up(target: LabTarget) -> None:
    problems = target.redundancy_problems()
    assert not problems, "; ".join(problems)


@then(parsers.parse("no probe is lost in the {transition}"))
def no_probe_lost(drill: Drill, transition: str) -> None:
    drill.measure_now()
    figures = getattr(drill.record, transition)
    assert figures is not None and figures.lost == 0, f"{transition}: {figures}"
