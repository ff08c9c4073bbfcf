"""Steps of the Azure fault methods' scenarios and the architecture checks (thin glue)."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from erdrill.core.outcomes import SteadyStateViolation
from erdrill.core.paths import ON_EXPRESSROUTE
from erdrill.drill.architecture import check_architecture
from erdrill.drill.engine import Drill

__all__: list[str] = []


def _inject(drill: Drill, name: str | None = None) -> None:
    drill.inject(name)
    if drill.planned:  # --plan: the writes were printed; nothing changed, nothing to wait for
        pytest.skip(drill.record.message)


@then("the deployment follows Microsoft's reference architecture")
def reference_architecture(drill: Drill) -> None:
    check_architecture(drill.target, drill.record, drill.save)


@given("both links of the circuit carry BGP")
def both_links(drill: Drill) -> None:
    problem = getattr(drill.target, "links_problem", lambda: None)()
    if problem:
        raise SteadyStateViolation(problem)


@when(parsers.parse("Microsoft's circuit link failover test runs {category} on the {link} link"))
def link_failover(drill: Drill, category: str, link: str) -> None:
    _inject(drill, f"circuit-link-failover:{link}:{category}")


@when("the site failover simulation takes the configured peering location down")
def site_failover(drill: Drill) -> None:
    _inject(drill)


@then(parsers.parse("traffic stays on ExpressRoute for {seconds:g} seconds"))
def stays_on_er(drill: Drill, seconds: float) -> None:
    drill.await_paths(ON_EXPRESSROUTE, seconds, "failover")
    drill.check_holds(ON_EXPRESSROUTE, seconds)
