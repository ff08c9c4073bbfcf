"""From a subscription to a first drill: the fault-method registry, `erdrill role`, the
permissions preflight, `erdrill discover` and the architecture checks, through the real SDK
against the in-memory face (face tier) or as pure functions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from erdrill.armface import InMemoryBackend, LabFaceCredential, Server, serve
from erdrill.armface.swagger import SPECS, Swagger
from erdrill.cli.role import role
from erdrill.core.config import AzureConfig, parse_drill_config
from erdrill.core.errors import ConfigError, ErdrillError
from erdrill.core.face_profile import API_VERSION, FaceProfile
from erdrill.core.fault_methods import METHOD_NAMES, METHODS, STEADY_STATE_READS
from erdrill.core.record import DrillRecord
from erdrill.reports.findings import derive
from erdrill.targets.azure import DISRUPTIVE, FAULTS, AzureTarget, arm_connection
from erdrill.targets.azure.architecture import RULES, review
from erdrill.targets.azure.arm import Arm, Connection
from erdrill.targets.azure.discover import DiscoveryError, discover, placeholder_config
from erdrill.targets.azure.discovered_config import render
from erdrill.targets.azure.errors import PermissionsMissing
from erdrill.targets.azure.fit import unfit_reason
from erdrill.targets.azure.reads import ControlPlane
from erdrill.targets.azure.role import granted

SUB = "00000000-0000-4000-8000-00000000e7d1"
RG = "erdrill-lab"
ROLE_FIELDS = {
    "Name": str,
    "IsCustom": bool,
    "Description": str,
    "Actions": list,
    "NotActions": list,
    "DataActions": list,
    "NotDataActions": list,
    "AssignableScopes": list,
}


# --- pure: the registry, the role, the fit ---------------------------------------------
def test_every_registered_method_has_its_fault_and_nothing_else() -> None:
    assert tuple(FAULTS) == METHOD_NAMES
    assert {n for n, m in METHODS.items() if m.disruptive} == DISRUPTIVE
    with pytest.raises(ConfigError) as caught:
        parse_drill_config(_config_text(method="pull-the-plug"))
    assert "\n" not in str(caught.value)
    assert "azure.fault_method" in str(caught.value) and "circuit-link-failover" in str(
        caught.value
    )


@pytest.mark.parametrize("method", METHOD_NAMES)
@pytest.mark.parametrize("plan", [False, True])
def test_role_is_a_role_definition_with_exactly_the_methods_actions(
    method: str, plan: bool
) -> None:
    done = CliRunner().invoke(role, ["--fault-method", method, *(["--plan"] if plan else [])])
    assert done.exit_code == 0, done.output
    doc = json.loads(done.output)
    assert set(doc) == set(ROLE_FIELDS)
    for name, kind in ROLE_FIELDS.items():
        assert isinstance(doc[name], kind), name
    assert doc["IsCustom"] is True and doc["Name"] and doc["AssignableScopes"]
    spec = METHODS[method]
    assert doc["Actions"] == list(spec.plan_actions if plan else spec.actions)
    assert len(set(doc["Actions"])) == len(doc["Actions"])
    assert all(a.startswith("Microsoft.Network/") for a in doc["Actions"])
    assert set(STEADY_STATE_READS) <= set(doc["Actions"])
    writes = [a for a in doc["Actions"] if a.endswith("/write") or "/start" in a or "/stop" in a]
    if plan or not spec.disruptive:
        assert writes == [], "a --plan or non-writing role must be read-only"
    else:
        assert set(writes) == set(spec.writes)


def test_an_unknown_method_is_refused_by_role_in_one_line() -> None:
    done = CliRunner().invoke(role, ["--fault-method", "nope"])
    assert done.exit_code == 2 and "nope" in done.output


def test_permission_patterns_follow_azure_rules() -> None:
    perms = [{"actions": ["Microsoft.Network/*/read"], "notActions": []}]
    assert granted("microsoft.network/connections/READ", perms)
    assert not granted("Microsoft.Network/expressRouteCircuits/peerings/write", perms)
    perms = [{"actions": ["*"], "notActions": ["Microsoft.Network/*/write"]}]
    assert not granted("Microsoft.Network/expressRouteCircuits/peerings/write", perms)
    assert granted("Microsoft.Network/virtualNetworkGateways/getLearnedRoutes/action", perms)


def test_scenarios_fit_the_configured_method_and_locations() -> None:
    cfg = parse_drill_config(_config_text(method="circuit-link-failover")).azure
    assert cfg is not None
    assert unfit_reason(cfg, {"circuit_link_failover", "azure"}) is None
    assert "keeps traffic on ExpressRoute" in (unfit_reason(cfg, {"leaves_expressroute"}) or "")
    site = unfit_reason(cfg, {"site_failover_simulation"}) or ""
    assert "2 peering locations" in site and "names 1 (lab-location)" in site
    peering = parse_drill_config(_config_text(method="disable-peering")).azure
    assert peering is not None and unfit_reason(peering, {"leaves_expressroute"}) is None
    assert "not the configured" in (unfit_reason(peering, {"circuit_link_failover"}) or "")


def test_architecture_findings_carry_their_catalogue_entry_and_source() -> None:
    record = DrillRecord(run_id="r", target="azure", started_at="2026-12-06T00:00:00Z")
    record.findings.append("ERD-ARCH-001: GatewaySubnet of hub-vnet is 10.0.0.0/28")
    (found,) = derive(record)
    doc = found.to_dict()
    assert doc["id"] == "ERD-ARCH-001" and doc["severity"] == "major"
    assert "learn.microsoft.com" in doc["source"] and doc["action"]
    assert len({r.id for r in RULES}) == len(RULES)


# --- face: discover, the architecture checks, the preflight ------------------------------
@pytest.fixture
def backend() -> InMemoryBackend:
    return InMemoryBackend()


@pytest.fixture
def face(backend: InMemoryBackend, tmp_path: Path) -> Iterator[Server]:
    with serve(backend, tmp_path) as server:
        yield server


def _arm(face: Server, cfg: AzureConfig, token: str | None = None) -> Arm:
    cred = LabFaceCredential(token or face.token, face.endpoint)
    return Arm(cfg, Connection(face.endpoint, str(face.ca_bundle), cred), plan=True, out=print)


def _discover(face: Server, **kw: Any) -> str:
    cfg = placeholder_config(kw.pop("sub", SUB), kw.pop("rg", RG), arm_endpoint="lab")
    found = discover(_arm(face, cfg, kw.pop("token", None)), kw.pop("circuit", None))
    return render(found, SUB, RG, "the in-memory face", lab_face=True)


def test_discover_writes_a_config_the_drill_accepts(face: Server, backend: InMemoryBackend) -> None:
    text = _discover(face)
    cfg = parse_drill_config(text)
    a = cfg.azure
    assert a is not None and cfg.target.kind == "azure"
    n = backend.names
    assert (a.circuit, a.er_gateway, a.vpn_gateway) == (n.circuit, n.er_gateway, n.vpn_gateway)
    assert (a.vpn_connection, a.nic) == (n.vpn_connection, n.nic)
    assert a.onprem_prefixes == backend.prefixes
    assert [t.address for t in cfg.probe.targets] == ["10.100.1.4"]
    assert a.fault_method == "circuit-link-failover"  # two MSEE peers: two links
    assert "#   disable-peering:" in text and "no site failover simulation" in text
    assert face.requests.writes() == []


def test_discover_lists_several_circuits_instead_of_guessing(
    face: Server, backend: InMemoryBackend
) -> None:
    backend.circuits.append(("er-circuit-2", "lab-location-2"))
    with pytest.raises(DiscoveryError) as caught:
        _discover(face)
    assert str(caught.value) == (
        f"discover: resource group {RG} has 2 circuits (er-circuit, er-circuit-2); "
        "choose one with --circuit"
    )
    text = _discover(face, circuit="er-circuit")
    assert '# [[azure.circuits]]\n# name = "er-circuit-2"' in text  # a second location: a choice


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"circuit": "nope"}, "--circuit nope: no such circuit in resource group erdrill-lab"),
        ({"rg": "rg-nope"}, "could not be found"),
        ({"sub": "00000000-0000-4000-8000-000000000bad"}, "could not be found"),
        ({"token": "not-the-token"}, "credential"),
    ],
)
def test_discover_bad_input_is_one_line(face: Server, kw: dict[str, str], says: str) -> None:
    with pytest.raises(ErdrillError) as caught:
        _discover(face, **kw)
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_discover_refuses_a_group_without_circuit(face: Server, backend: InMemoryBackend) -> None:
    backend.circuits.clear()
    with pytest.raises(DiscoveryError, match="has no ExpressRoute circuit"):
        _discover(face)


def _review(face: Server) -> list[str]:
    cfg = parse_drill_config(_config_text()).azure
    assert cfg is not None
    return review(ControlPlane(_arm(face, cfg))).findings


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        ("gateway-subnet-28", "ERD-ARCH-001"),
        ("gateways-apart", "ERD-ARCH-002"),
        ("policy-based-vpn", "ERD-ARCH-003"),
        ("vpn-without-bgp", "ERD-ARCH-004"),
        ("vpn-not-connected", "ERD-ARCH-005"),
        ("msee-down", "ERD-ARCH-006"),
    ],
)
def test_each_architecture_check_fires_on_a_face_that_breaks_it(
    face: Server, backend: InMemoryBackend, broken: str, rule: str
) -> None:
    assert _review(face) == []  # the reference is silent
    if broken == "msee-down":
        backend.msee_down.add(backend.msee[1])
    else:
        backend.misconfig.add(broken)
    findings = _review(face)
    assert [f.split(":")[0] for f in findings] == [rule], findings
    assert face.requests.writes() == []


def test_the_preflight_refuses_before_any_write_naming_the_action(
    face: Server, backend: InMemoryBackend, tmp_path: Path
) -> None:
    missing = "Microsoft.Network/expressRouteCircuits/peerings/write"
    denied = FaceProfile(denied_actions=[missing])  # the identity the face answers for
    run_dir = tmp_path / "denied"
    run_dir.mkdir()
    cfg = parse_drill_config(_config_text(method="disable-peering"))
    assert cfg.azure is not None
    with serve(backend, run_dir, profile=denied) as limited:
        t = AzureTarget(cfg, arm_connection(cfg.azure, run_dir), allow_disruption=True, out=print)
        with pytest.raises(PermissionsMissing) as caught:
            t.fault("disable-peering")
        assert missing in str(caught.value)
        assert "erdrill role --fault-method disable-peering" in str(caught.value)
        assert limited.requests.writes() == []
        assert [r.operation for r in limited.requests] == ["Permissions_ListForResourceGroup"]
        access = (run_dir / "armface" / "access.jsonl").read_text().splitlines()
        assert [json.loads(line)["write"] for line in access] == [False]
        planned = AzureTarget(cfg, arm_connection(cfg.azure, run_dir), plan=True, out=print)
        planned.fault("disable-peering")  # --plan needs only reads: not refused
    assert backend.events == []  # nothing reached the network


def _config_text(method: str = "disable-peering") -> str:
    names = ("circuit", "er_gateway", "vpn_gateway", "vpn_connection", "nic")
    azure: dict[str, Any] = {n: n.replace("_", "-") for n in names}
    azure |= {"circuit": "er-circuit", "nic": "workload-nic", "subscription_id": SUB}
    azure |= {"resource_group": RG, "onprem_prefixes": ["10.1.0.0/16"], "arm_endpoint": "lab"}
    azure |= {"fault_method": method, "peering_location": "lab-location"}
    azure |= {"poll_interval_s": 1, "operation_timeout_s": 20}
    lines = ["[target]", 'kind = "azure"', "[azure]"]
    return "\n".join(lines + [f"{k} = {json.dumps(v)}" for k, v in azure.items()]) + "\n"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--subscription", "not-a-guid", "--resource-group", "rg"], "--subscription"),
        (["--subscription", SUB, "--resource-group", ""], "--resource-group"),
    ],
)
def test_discover_command_bad_input_is_one_line(
    argv: list[str],
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from erdrill.cli.app import main

    monkeypatch.setenv("ERDRILL_STATE_DIR", str(tmp_path))
    assert main(["discover", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err and "Traceback" not in err, err


INVENTORY = [  # (swagger file, operationId, path under the resource group's Microsoft.Network)
    ("virtualNetworkGateway.json", "VirtualNetworkGateways_List", "virtualNetworkGateways"),
    (
        "virtualNetworkGateway.json",
        "VirtualNetworkGateways_Get",
        "virtualNetworkGateways/vpn-gateway",
    ),
    ("virtualNetworkGateway.json", "VirtualNetworkGatewayConnections_List", "connections"),
    ("virtualNetworkGateway.json", "LocalNetworkGateways_List", "localNetworkGateways"),
    ("virtualNetworkGateway.json", "LocalNetworkGateways_Get", "localNetworkGateways/onprem-lng"),
    ("expressRouteCircuit.json", "ExpressRouteCircuits_List", "expressRouteCircuits"),
    ("expressRouteCircuit.json", "ExpressRouteCircuits_Get", "expressRouteCircuits/er-circuit"),
    ("networkInterface.json", "NetworkInterfaces_List", "networkInterfaces"),
]


@pytest.mark.skipif(not SPECS.is_dir(), reason="swagger reference data missing")
@pytest.mark.parametrize(("file", "operation", "path"), INVENTORY)
def test_the_inventory_matches_the_published_swagger(
    face: Server, file: str, operation: str, path: str
) -> None:
    s = requests.Session()
    s.trust_env = False
    s.verify = str(face.ca_bundle)
    s.headers["Authorization"] = f"Bearer {face.token}"
    url = (
        f"{face.endpoint}/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Network/"
        f"{path}?api-version={API_VERSION}"
    )
    r = s.get(url)
    assert r.status_code == 200, r.text
    swagger = Swagger()
    assert swagger.check(r.json(), swagger.response_schema(file, operation), file) == []
    assert [x.operation for x in face.requests] == [operation]


def test_the_topologys_face_misconfig_reaches_the_inventory() -> None:
    from erdrill.armface.backend import Call
    from erdrill.armface.lab_backend import LabBackend
    from erdrill.lab.topology import load_topology

    topology = load_topology(None)
    broken = ["gateway-subnet-28", "policy-based-vpn", "vpn-not-connected"]
    topology = topology.model_copy(
        update={"azure": topology.azure.model_copy(update={"face_misconfig": broken})}
    )

    class Shown:  # what the inventory reads of a lab: its topology and the tunnel
        def __init__(self) -> None:
            self.topology = topology

        def ipsec_state(self) -> str:
            return "up"

    backend = LabBackend(Shown())  # type: ignore[arg-type]
    params = {"subscriptionId": SUB, "resourceGroupName": RG}

    def get(operation: str, **more: str) -> Any:
        return backend.answer(Call(operation, "GET", {**params, **more})).body

    vpn = get("VirtualNetworkGateways_Get", virtualNetworkGatewayName="vpn-gateway")
    assert vpn["properties"]["vpnType"] == "PolicyBased"
    (vnet,) = get("VirtualNetworks_List")["value"]
    subnets = {x["name"]: x["properties"]["addressPrefix"] for x in vnet["properties"]["subnets"]}
    assert subnets["GatewaySubnet"].endswith("/28")
    conn = get(
        "VirtualNetworkGatewayConnections_Get", virtualNetworkGatewayConnectionName="vpn-connection"
    )
    assert conn["properties"]["connectionStatus"] == "NotConnected"
