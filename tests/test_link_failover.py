"""Microsoft's circuit link failover test through azure-mgmt-network against the face of a
redundant lab (one circuit, primary and secondary links on two CE routers, active-active
VPN): the face serves both links, every MSEE and VPN peer, and the test; the
`circuit-link-failover` fault method moves traffic to the other link and back, ExpressRoute
all the way. Its own lab prefix (erd-lft-<pid>); a lab and about a minute per drill.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from drillrun import session_prefix
from test_azure_target import one_line

from erdrill.armface import LabFaceCredential, Server, serve
from erdrill.armface.lab_backend import LabBackend
from erdrill.core.config import DrillConfig, parse_drill_config
from erdrill.core.errors import ConfigError, TargetError
from erdrill.core.outcomes import outcome_of
from erdrill.core.paths import ON_EXPRESSROUTE
from erdrill.core.settings import DrillSettings
from erdrill.drill.engine import Drill
from erdrill.lab.lab import Lab
from erdrill.lab.topology import load_topology
from erdrill.targets.azure import AzureTarget, arm_connection, undo_azure_entry
from erdrill.targets.azure.link_failover import CircuitLinkFailover, link_tests

ROOT = Path(__file__).parents[1]
PREFIX = session_prefix("erd-lft")
METHOD = "circuit-link-failover"


def config(link: str = "Primary", category: str = "BgpDisconnect", path: Path | None = None) -> str:
    """examples/lab-as-azure.toml with the link failover method; the forward hop count is
    learned (the other link is a hop longer, through the second CE: its peering address
    tells it is still ExpressRoute)."""
    text = (ROOT / "examples" / "lab-as-azure.toml").read_text()
    text = text.replace('fault_method = "disable-peering"', f'fault_method = "{METHOD}"')
    text = text.replace("forward_hops = { expressroute = 5, vpn = 4 }\n", "")
    return text + f'\n[azure.link_failover]\nlink = "{link}"\ncategory = "{category}"\n'


def parsed(text: str) -> DrillConfig:
    cfg = parse_drill_config(text)
    assert cfg.azure is not None
    return cfg


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("link-failover")
    topology = load_topology(ROOT / "erdrill" / "lab" / "topologies" / "redundant.yaml")
    lab = Lab(topology.model_copy(update={"prefix": PREFIX}), run_root=root / "labs")
    lab.up(timeout=60)
    yield lab
    lab.down()


@pytest.fixture
def face(lab: Lab) -> Iterator[Server]:
    with serve(LabBackend(lab), lab.run_dir) as server:
        yield server
    lab.restore(wait=30)  # a failed test leaves nothing for the next one


def client(face: Server) -> Any:
    from azure.mgmt.network import NetworkManagementClient

    n = face.backend.names
    return NetworkManagementClient(
        LabFaceCredential(face.token, face.endpoint),
        n.subscription_id,
        base_url=face.endpoint,
        connection_verify=str(face.ca_bundle),
        polling_interval=0.2,
    )


def test_a_bad_link_or_category_is_refused_in_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_drill_config(config(link="Tertiary"))
    assert "azure.link_failover.link" in one_line(err.value)
    with pytest.raises(ConfigError) as err:
        parse_drill_config(config(category="Unplug"))
    assert "azure.link_failover.category" in one_line(err.value)


def test_the_face_serves_both_links_every_msee_and_both_vpn_instances(
    lab: Lab, face: Server
) -> None:
    c, n = client(face), face.backend.names
    rg = n.resource_group
    circuit = lab.topology.expressroute.circuits[0]
    peering = c.express_route_circuit_peerings.get(rg, n.circuit, n.peering)
    assert peering.primary_peer_address_prefix == str(circuit.primary.peering)
    assert circuit.secondary is not None
    assert peering.secondary_peer_address_prefix == str(circuit.secondary.peering)
    er_peers = c.virtual_network_gateways.begin_get_bgp_peer_status(rg, n.er_gateway).result()
    msee = [p for p in er_peers.value if p.asn == 12076]
    assert sorted(p.neighbor for p in msee) == ["172.16.1.1", "172.16.1.5"]
    assert {p.state for p in msee} == {"Connected"}
    vpn_peers = c.virtual_network_gateways.begin_get_bgp_peer_status(rg, n.vpn_gateway).result()
    onprem = [p for p in vpn_peers.value if p.asn == 65010]
    assert len(onprem) == 2 and {p.state for p in onprem} == {"Connected"}
    learned = c.virtual_network_gateways.begin_get_learned_routes(rg, n.vpn_gateway).result()
    instances = sorted(str(a) for a in lab.topology.vpn.instances.values())
    from_onprem = [r for r in learned.value if r.network == "192.168.10.0/24"]
    assert sorted(r.local_address for r in from_onprem) == instances
    er_learned = c.virtual_network_gateways.begin_get_learned_routes(rg, n.er_gateway).result()
    er_hops = {r.next_hop for r in er_learned.value if r.network == "192.168.10.0/24"}
    assert er_hops == {"172.16.1.1", "172.16.1.5"}  # from both MSEEs
    gw = c.virtual_network_gateways.get(rg, n.vpn_gateway)
    assert gw.active_active is True
    assert [a.default_bgp_ip_addresses for a in gw.bgp_settings.bgp_peering_addresses] == [
        [a] for a in lab.topology.vpn.instances.values()
    ]
    for device_path, ce in (("Primary", "172.16.0.1"), ("Secondary", "172.16.0.5")):
        table = c.express_route_circuits.begin_list_routes_table(
            rg, n.circuit, n.peering, device_path
        ).result()
        mine = [r for r in table.value if r.network == "192.168.10.0/24"]
        assert [(r.next_hop, r.path) for r in mine] == [(ce, "65010")], device_path


def test_the_face_maps_the_test_to_the_lab_link_faults(lab: Lab, face: Server) -> None:
    c, n = client(face), face.backend.names
    rg, ops = n.resource_group, c.express_route_circuits
    ops.begin_start_circuit_link_failover_test(
        rg, n.circuit, link_type="Secondary", circuit_test_category="ASPathPrepend"
    ).result()
    assert lab.active_faults() == ["secondary-msee-maintenance"]
    (test,) = ops.begin_get_circuit_link_failover_all_tests_details(
        rg, n.circuit, failover_test_type="LinkFailover", fetch_latest=True
    ).result()
    assert (test.status, test.link_type, test.circuit_test_category) == (
        "Running",
        "Secondary",
        "ASPathPrepend",
    )
    assert {s.link: s.status for s in test.bgp_status} == {
        "Primary": "Connected",
        "Secondary": "Connected",  # a prepend keeps the session
    }
    ops.begin_stop_circuit_link_failover_test(
        rg,
        n.circuit,
        {
            "linkType": "Secondary",
            "circuitTestCategory": "ASPathPrepend",
            "wasSimulationSuccessful": True,
            "isVerified": True,
        },
    ).result()
    assert lab.active_faults() == []
    (single,) = ops.begin_get_circuit_link_failover_single_test_details(
        rg,
        n.circuit,
        link_type="Secondary",
        circuit_test_category="ASPathPrepend",
        failover_test_id=test.test_guid,
    ).result()
    assert single.status == "Completed" and single.was_simulation_successful is True
    assert single.end_time_utc


@pytest.mark.parametrize("category", ["BgpDisconnect", "ASPathPrepend"])
def test_the_link_failover_moves_traffic_to_the_other_link_and_back(
    lab: Lab, face: Server, tmp_path: Path, category: str
) -> None:
    cfg = parsed(config("Primary", category))
    assert cfg.azure is not None
    target = AzureTarget(
        cfg, arm_connection(cfg.azure, lab.run_dir), lab=lab, allow_disruption=True
    )
    settings = DrillSettings(rate=50, sustain_s=1.0, abort_limit_s=120, undo_timeout_s=120)
    d = Drill(target, settings, drills_dir=tmp_path, state_dir=tmp_path)
    d.begin()
    assert target.paths().forward_detail == "primary"
    d.start_probes()
    d.inject(METHOD)
    d.await_paths(ON_EXPRESSROUTE, 20.0, "failover")
    d.check_holds(ON_EXPRESSROUTE, 2.0)
    during = target.paths()
    assert during == ON_EXPRESSROUTE and during.forward_detail == "secondary", during.details()
    assert lab.paths(full=True).details() == {
        "forward": "expressroute/secondary",
        "return": "expressroute/secondary",
    }
    d.restore()
    d.await_paths(ON_EXPRESSROUTE, 60.0, "failback")
    d.finish_probes()
    d.close(outcome_of(None))
    rec = d.record
    assert rec.verdict == "passed", rec.message
    assert rec.fault == METHOD
    for phase in ("during", "after"):  # "before" is the steady-state step's
        assert rec.paths[phase].forward == "expressroute", (phase, rec.paths)
        assert rec.paths[phase].return_ == "expressroute", (phase, rec.paths)
    writes = [s["action"] for s in rec.api_calls if s["action"].startswith("link failover ")]
    assert [w for w in writes if w != "link failover details"] == [
        "link failover start",
        "link failover stop",
    ]
    if category == "BgpDisconnect":  # the primary device path lost the on-premises prefix
        during_tables = {t["owner"]: t for t in rec.route_snapshots["during"]}
        primary = during_tables["circuit:er-circuit/primary"]["entries"]
        secondary = during_tables["circuit:er-circuit/secondary"]["entries"]
        assert "192.168.10.0/24" not in {e["prefix"] for e in primary}
        assert "192.168.10.0/24" in {e["prefix"] for e in secondary}
    else:
        assert rec.failover is not None and rec.failover.lost == 0, rec.failover
    assert lab.active_faults() == []
    assert link_tests(target.reads)[-1]["status"] == "Completed"


def test_a_test_left_running_by_a_dead_drill_is_stopped_by_the_repair(
    lab: Lab, face: Server, tmp_path: Path
) -> None:
    drill_config = tmp_path / "drill.toml"
    drill_config.write_text(config("Secondary", "BgpDisconnect"))
    cfg = parsed(drill_config.read_text())
    assert cfg.azure is not None
    target = AzureTarget(
        cfg,
        arm_connection(cfg.azure, lab.run_dir),
        config_path=drill_config,
        lab=lab,
        allow_disruption=True,
    )
    fault = target.fault(METHOD)
    assert isinstance(fault, CircuitLinkFailover) and not fault.moves_to_vpn
    entry = fault.journal_entry()
    assert entry["circuit_id"].endswith(
        "/providers/Microsoft.Network/expressRouteCircuits/er-circuit"
    )
    assert entry["er_gateway_id"].endswith("/virtualNetworkGateways/er-gateway")
    assert (entry["link_type"], entry["category"]) == ("Secondary", "BgpDisconnect")
    fault.inject()  # ...and the drill dies here
    assert lab.active_faults() == ["secondary-link-down"]
    with pytest.raises(TargetError) as err:
        target.fault(METHOD).inject()  # a second test is refused while one runs
    assert "already runs" in one_line(err.value)
    # the config now names the other link: the journal's link wins
    drill_config.write_text(config("Primary", "ASPathPrepend"))
    face.close()  # the repair serves its own face, as a fresh process would
    undo_azure_entry({"fault": METHOD, "run_id": "dead", "undo": entry}, allow_disruption=True)
    assert lab.active_faults() == []


def test_the_new_answers_match_the_published_swagger(lab: Lab, face: Server) -> None:
    from erdrill.armface.swagger import Swagger
    from erdrill.targets.azure.arm import raw_json

    c, n, swagger = client(face), face.backend.names, Swagger()
    rg, ops = n.resource_group, c.express_route_circuits
    circuit_file, gateway_file = "expressRouteCircuit.json", "virtualNetworkGateway.json"
    ops.begin_start_circuit_link_failover_test(
        rg, n.circuit, link_type="Primary", circuit_test_category="BgpDisconnect"
    ).result()
    bodies = {
        "ExpressRouteCircuits_ListRoutesTable": ops.begin_list_routes_table(
            rg, n.circuit, n.peering, "Primary", cls=raw_json
        ).result(),
        "ExpressRouteCircuits_GetCircuitLinkFailoverAllTestsDetails": (
            ops.begin_get_circuit_link_failover_all_tests_details(
                rg, n.circuit, failover_test_type="LinkFailover", fetch_latest=True, cls=raw_json
            ).result()
        ),
    }
    guid = bodies["ExpressRouteCircuits_GetCircuitLinkFailoverAllTestsDetails"][0]["testGuid"]
    bodies["ExpressRouteCircuits_GetCircuitLinkFailoverSingleTestDetails"] = (
        ops.begin_get_circuit_link_failover_single_test_details(
            rg,
            n.circuit,
            link_type="Primary",
            circuit_test_category="BgpDisconnect",
            failover_test_id=guid,
            cls=raw_json,
        ).result()
    )
    for op, body in bodies.items():
        assert body, op
        assert swagger.check(body, swagger.response_schema(circuit_file, op), circuit_file) == []
    for gw in (n.er_gateway, n.vpn_gateway):
        body = c.virtual_network_gateways.get(rg, gw, cls=raw_json)
        schema = swagger.response_schema(gateway_file, "VirtualNetworkGateways_Get")
        assert swagger.check(body, schema, gateway_file) == [], gw
    ops.begin_stop_circuit_link_failover_test(
        rg,
        n.circuit,
        {
            "linkType": "Primary",
            "circuitTestCategory": "BgpDisconnect",
            "wasSimulationSuccessful": True,
            "isVerified": True,
        },
    ).result()
    assert lab.active_faults() == []


def test_plan_reads_the_details_and_sends_neither_start_nor_stop(
    lab: Lab, face: Server, tmp_path: Path
) -> None:
    cfg = parsed(config("Primary", "BgpDisconnect"))
    assert cfg.azure is not None
    target = AzureTarget(
        cfg, arm_connection(cfg.azure, lab.run_dir), lab=lab, plan=True, out=lambda _: None
    )
    fault = target.fault(METHOD)  # plan mode needs no allow_disruption
    fault.inject()
    fault.undo()
    for op in ("StartCircuitLinkFailoverTest", "StopCircuitLinkFailoverTest"):
        assert face.requests.count("POST", f"ExpressRouteCircuits_{op}") == 0, op
    assert face.requests.count("POST", "ExpressRouteCircuits_GetCircuitLinkFailoverAllTestsDetails")
    planned = [s for s in target.steps if s.action in ("link failover start", "link failover stop")]
    assert [s.performed for s in planned] == [False, False]
    assert lab.active_faults() == []
