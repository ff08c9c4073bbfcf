"""Steps that build a deliberately misconfigured lab and check the steady state catches it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_bdd import given, parsers, then, when

from erdrill.drill.engine import Drill
from erdrill.lab.lab import Lab
from erdrill.lab.topology import load_topology
from erdrill.targets.lab import LabTarget

__all__ = ["MISCONFIGURED_PREFIX", "misconfigured_prefix"]

MISCONFIGURED_PREFIX = "erd-miscfg"


def misconfigured_prefix(session_topology: Path | None) -> str:
    """The separate lab's prefix: erd-miscfg beside the default lab, else the session's + -mc.

    A drill run with its own --lab-topology prefix never touches another run's labs.
    """
    prefix = load_topology(session_topology).prefix
    return MISCONFIGURED_PREFIX if prefix == "erd-lab" else f"{prefix[:13]}-mc"


@pytest.fixture
def separate_labs() -> Iterator[list[Lab]]:
    labs: list[Lab] = []
    yield labs
    for lab in labs:
        lab.down()


@given(parsers.parse('a separate lab built from the topology "{name}"'), target_fixture="target")
def separate_lab(name: str, separate_labs: list[Lab], pytestconfig: pytest.Config) -> LabTarget:
    prefix = misconfigured_prefix(pytestconfig.getoption("lab_topology"))
    target = LabTarget.shipped(name, prefix, expect_expressroute=False)
    separate_labs.append(target.lab)
    target.ensure_ready()
    return target


@when("the steady state is checked", target_fixture="violation")
def check_steady_state(drill: Drill) -> str:
    drill.begin()
    return drill.steady_state_violation()


@then(parsers.parse("the check fails naming the {direction} direction as asymmetric"))
def names_direction(violation: str, direction: str) -> None:
    assert violation, "the steady-state check passed on a misconfigured network"
    assert f"asymmetric routing: the {direction} direction" in violation, violation


@then("the check names the more-specific prefixes over the VPN")
def names_prefixes(violation: str, target: LabTarget) -> None:
    assert "more-specific prefixes over the VPN" in violation, violation
    missing = [p for p in target.lab.topology.vpn_only_prefixes() if p not in violation]
    assert not missing, f"the check does not name {missing}: {violation}"
