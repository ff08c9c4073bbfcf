"""Steps of the failover drill: steady state, probes, faults, transitions and limits."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from erdrill.drill import Drill, NoFailover, steady_state_problems
from erdrill.paths import ON_EXPRESSROUTE, ON_VPN, PathPair
from erdrill.settings import DrillOptions

PATHS = {"the VPN": ON_VPN, "ExpressRoute": ON_EXPRESSROUTE}


@given("the drill target is ready")
def target_ready(drill: Drill) -> None:
    drill.begin()


@then("BGP is established on the ExpressRoute and VPN paths")
def bgp_established(drill: Drill) -> None:
    down = {k: v for k, v in drill.target.health().bgp.items() if v != "established"}
    assert not down, f"BGP sessions not established: {down}"


@then("the IPsec tunnel is up")
def tunnel_up(drill: Drill) -> None:
    assert drill.target.health().tunnel == "up", "the IPsec tunnel is down"


@then("traffic flows over ExpressRoute in both directions")
def on_expressroute(drill: Drill) -> None:
    drill.steady_state()


@then("the same prefixes are known over ExpressRoute and the VPN on both sides")
def same_prefixes(drill: Drill) -> None:
    health = drill.target.health()
    problems = [
        p for p in steady_state_problems(health, drill.target.learned_prefixes()) if "prefixes" in p
    ]
    assert not problems, "; ".join(problems)


@given("probes run from on-premises to the workload")
def probes_run(drill: Drill) -> None:
    drill.start_probes()


@when("the provider stops ExpressRoute")
def provider_stops(drill: Drill, options: DrillOptions) -> None:
    drill.inject(options.fault)


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


@then(parsers.parse("traffic uses {path} in both directions within {seconds:g} seconds"))
def uses_path(drill: Drill, path: str, seconds: float) -> None:
    expected: PathPair = PATHS[path]
    drill.await_paths(expected, seconds, "failover")


@then(parsers.parse("the connection works over the VPN for {seconds:g} seconds"))
def works_over_vpn(drill: Drill, seconds: float) -> None:
    samples = drill.hold(seconds)
    answered = [s for s in samples if s.answered]
    if not answered:
        raise NoFailover(f"did not fail over: no probe was answered over the VPN in {seconds:g} s")
    assert drill.watcher is not None and drill.watcher.current == ON_VPN, (
        f"did not fail over: traffic left the VPN while on it ({drill.watcher and drill.watcher.current})"
    )


@then(
    parsers.parse("traffic returns to ExpressRoute in both directions within {seconds:g} seconds")
)
def returns_to_er(drill: Drill, seconds: float) -> None:
    drill.await_paths(ON_EXPRESSROUTE, seconds, "failback")
    drill.finish_probes()


@then(
    parsers.re(
        r"the (?P<transition>failover|failback) outage is at most "
        r"(?P<value>[\d.]+) (?P<unit>seconds|milliseconds)"
    )
)
def outage_within(
    drill: Drill, options: DrillOptions, transition: str, value: str, unit: str
) -> None:
    limit_ms = float(value) * (1000.0 if unit == "seconds" else 1.0)
    limit_ms = options.limit_ms(transition, limit_ms)
    if transition == "failover":
        drill.measure_now()
    drill.check_limit(transition, "outage_ms", limit_ms)
    drill.check_limit(transition, "loss_derived_ms", limit_ms)


@then("the measured failover agrees with the lab's event log")
def agrees_with_ground_truth(drill: Drill) -> None:
    drill.check_ground_truth()
