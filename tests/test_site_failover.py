"""Site failover simulation as what it is: ExpressRoute to ExpressRoute between two peering
locations, refused for a config that does not describe them; test details read around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from facekit import CONFIG, face_session, one_line

from erdrill.armface import InMemoryBackend, Server, serve
from erdrill.core.config import parse_drill_config
from erdrill.core.errors import ConfigError, TargetError
from erdrill.targets.azure import AzureTarget, SiteFailoverSimulation, arm_connection

METHOD = "site-failover-simulation"
TWO_LOCATIONS = CONFIG.format(method=METHOD, timeout=20)
ONE_LOCATION = TWO_LOCATIONS.replace('"lab-location-2"', '"lab-location"')
NO_CIRCUITS = TWO_LOCATIONS[: TWO_LOCATIONS.index("[[azure.circuits]]")]


@pytest.mark.parametrize(("text", "field", "says"), [
    (NO_CIRCUITS, "azure.circuits", "describe circuits in two peering locations"),
    (ONE_LOCATION, "azure.circuits", "(only 'lab-location' given)"),
    (TWO_LOCATIONS.replace('peering_location = "lab-location"\npoll', 'peering_location = "Oslo"\npoll'),
     "azure.peering_location", "'Oslo' has no circuit in [[azure.circuits]]"),
])  # fmt: skip
def test_a_config_without_two_peering_locations_is_refused_in_one_line(
    text: str, field: str, says: str
) -> None:
    with pytest.raises(ConfigError) as err:
        parse_drill_config(text)
    message = one_line(err.value)
    assert field in message and says in message, message
    assert "not to the VPN" in message or "Oslo" in message


def test_two_peering_locations_are_accepted() -> None:
    cfg = parse_drill_config(TWO_LOCATIONS)
    assert cfg.azure is not None
    assert {c.peering_location for c in cfg.azure.circuits} == {"lab-location", "lab-location-2"}


@pytest.fixture
def memory() -> InMemoryBackend:
    return InMemoryBackend()


@pytest.fixture
def face(memory: InMemoryBackend, tmp_path: Path) -> Iterator[Server]:
    with serve(memory, tmp_path) as server:
        yield server


def simulation(face: Server, tmp_path: Path) -> tuple[AzureTarget, SiteFailoverSimulation]:
    cfg = parse_drill_config(TWO_LOCATIONS)
    assert cfg.azure is not None
    t = AzureTarget(cfg, arm_connection(cfg.azure, tmp_path), allow_disruption=True)
    fault = t.fault(METHOD)
    assert isinstance(fault, SiteFailoverSimulation)
    return t, fault


def test_the_simulation_reads_details_around_it_and_expects_expressroute(
    face: Server, memory: InMemoryBackend, tmp_path: Path
) -> None:
    t, fault = simulation(face, tmp_path)
    assert not fault.moves_to_vpn, "ExpressRoute to ExpressRoute: the VPN is not the goal"
    fault.inject()
    assert memory.simulating == "lab-location"
    fault.undo()
    actions = [s.action for s in t.steps]
    assert actions.count("site failover details") == 3, actions  # before, at the stop, after
    assert actions.index("site failover start") > actions.index("site failover details")
    (stop,) = [s for s in t.steps if s.action == "site failover stop"]
    # the lab face has one location, so the return path left ExpressRoute: not successful
    assert "wasSimulationSuccessful=False" in stop.detail
    assert memory.site_tests["lab-location"]["status"] == "Completed"
    assert memory.site_tests["lab-location"]["wasSimulationSuccessful"] is False


def test_a_test_already_running_at_the_location_is_refused(
    face: Server, memory: InMemoryBackend, tmp_path: Path
) -> None:
    n = memory.names
    s = face_session(face)
    url = (f"{face.endpoint}/subscriptions/{n.subscription_id}/resourceGroups/{n.resource_group}"
           "/providers/Microsoft.Network/virtualNetworkGateways/er-gateway/startSiteFailoverTest"
           "?api-version=2026-03-01&peeringLocation=lab-location")  # fmt: skip
    assert s.post(url).status_code == 202
    _, fault = simulation(face, tmp_path)
    with pytest.raises(TargetError) as err:
        fault.inject()
    assert "a site failover test already runs at lab-location" in one_line(err.value)
    assert (
        face.requests.count(
            "POST", "VirtualNetworkGateways_StartExpressRouteSiteFailoverSimulation"
        )
        == 1
    )
