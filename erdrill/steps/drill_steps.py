"""Steps of the failover drill: steady state, probes, faults, transitions and limits."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from erdrill.core.paths import ON_EXPRESSROUTE, ON_VPN, PathPair
from erdrill.core.settings import DrillOptions
from erdrill.drill.engine import Drill

__all__ = ["PATHS"]

PATHS = {"the VPN": ON_VPN, "ExpressRoute": ON_EXPRESSROUTE}
UNITS_MS = {"seconds": 1000.0, "milliseconds": 1.0}


def path_named(words: str) -> PathPair:
    return PATHS[words]


def milliseconds(words: str) -> float:
    value, unit = words.split()
    return float(value) * UNITS_MS[unit]


@given("the drill target is ready")
def target_ready(drill: Drill) -> None:
    drill.begin()


@then("BGP is established on the ExpressRoute and VPN paths")
def bgp_established(drill: Drill) -> None:
    drill.check_sessions()


@then("the IPsec tunnel is up")
def tunnel_up(drill: Drill) -> None:
    drill.check_tunnel()


@then("traffic flows over ExpressRoute in both directions")
def on_expressroute(drill: Drill) -> None:
    drill.steady_state()


@then("the same prefixes are known over ExpressRoute and the VPN on both sides")
def same_prefixes(drill: Drill) -> None:
    drill.check_same_prefixes()


@given("probes run from on-premises to the workload")
def probes_run(drill: Drill) -> None:
    drill.start_probes()


@when("the provider stops ExpressRoute")
def provider_stops(drill: Drill, options: DrillOptions) -> None:
    drill.inject(options.fault)
    if drill.planned:  # --plan: the writes were printed; nothing changed, nothing to wait for
        pytest.skip(drill.record.message)


@when(parsers.parse('the lab fault "{fault}" is injected'))
def lab_fault(drill: Drill, fault: str) -> None:
    drill.inject(fault)


@when("the provider restores ExpressRoute")
@when("the fault is undone")
def restore(drill: Drill) -> None:
    drill.restore()


@then(
    parsers.parse(
        "traffic reaches the workload over the VPN in both directions within {seconds:g} seconds"
    )
)
def reaches_over_vpn(drill: Drill, seconds: float) -> None:
    drill.await_paths(ON_VPN, seconds, "failover")


@then(
    parsers.parse(
        "traffic uses {path:Path} in both directions within {seconds:g} seconds",
        extra_types={"Path": path_named},
    )
)
def uses_path(drill: Drill, path: PathPair, seconds: float) -> None:
    drill.await_paths(path, seconds, "failover")


@then(parsers.parse("the connection works over the VPN for {seconds:g} seconds"))
def works_over_vpn(drill: Drill, seconds: float) -> None:
    drill.check_holds(ON_VPN, seconds)


@then(
    parsers.parse("traffic returns to ExpressRoute in both directions within {seconds:g} seconds")
)
def returns_to_er(drill: Drill, seconds: float) -> None:
    drill.await_paths(ON_EXPRESSROUTE, seconds, "failback")
    drill.finish_probes()


@then(
    parsers.parse(
        "the {transition} outage is at most {limit:Duration}",
        extra_types={"Duration": milliseconds},
    )
)
def outage_within(drill: Drill, options: DrillOptions, transition: str, limit: float) -> None:
    drill.check_outage(transition, options.limit_ms(transition, limit))


@then("the measured failover agrees with the lab's event log")
def agrees_with_ground_truth(drill: Drill) -> None:
    drill.check_ground_truth()
