"""The Azure target over the real SDK and HTTP, against the lab's Azure face (no mocks)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from facekit import CONFIG, one_line

from erdrill.armface import InMemoryBackend, Reply, ScriptedBackend, Server, error_reply, serve
from erdrill.core.config import parse_drill_config
from erdrill.core.errors import ErdrillError, TargetError
from erdrill.core.paths import PathKind
from erdrill.drill.steady_state import PREFIX_PROBLEMS, steady_state_problems
from erdrill.targets.azure import AzureTarget, DisruptionRefused, arm_connection
from erdrill.targets.azure.face import journaled_config

LEARNED = "VirtualNetworkGateways_GetLearnedRoutes"
EFFECTIVE = "NetworkInterfaces_GetEffectiveRouteTable"


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend(InMemoryBackend())


@pytest.fixture
def face(backend: ScriptedBackend, tmp_path: Path) -> Iterator[Server]:
    with serve(backend, tmp_path) as server:
        yield server


def target(
    face: Server,
    tmp_path: Path,
    method: str = "disable-peering",
    timeout: float = 20,
    credential: Any = None,
    config: str = CONFIG,
    **kwargs: Any,
) -> AzureTarget:
    cfg = parse_drill_config(config.format(method=method, timeout=timeout))
    assert cfg.azure is not None
    kwargs.setdefault("out", lambda line: None)
    return AzureTarget(cfg, arm_connection(cfg.azure, tmp_path, credential), **kwargs)


def test_health_and_routes_on_expressroute(face: Server, tmp_path: Path) -> None:
    t = target(face, tmp_path)
    h = t.reads.health()  # Azure's own view: no traceroute for the forward path
    assert h.paths.return_ is PathKind.EXPRESSROUTE
    assert h.paths.forward is PathKind.UNKNOWN  # not visible from Azure
    assert h.tunnel == "up" and set(h.bgp.values()) == {"established"}
    tables = {tb.owner: tb for tb in t.route_tables()}
    assert tables["nic:workload-nic"].path_to("10.1.0.0/16") is PathKind.EXPRESSROUTE
    t.reads.check_ready()
    assert t.reads.return_path() is PathKind.EXPRESSROUTE
    assert t.learned_prefixes()["azure"]["expressroute"] == ["10.1.0.0/16"]


def test_disable_peering_fails_over_and_back(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    t = target(face, tmp_path, allow_disruption=True)
    fault = t.fault("disable-peering")
    assert fault.moves_to_vpn
    fault.inject()
    inner = backend.inner
    assert isinstance(inner, InMemoryBackend) and inner.events == ["peering Disabled"]
    assert t.reads.return_path() is PathKind.VPN
    fault.undo()
    assert inner.events == ["peering Disabled", "peering Enabled"]
    assert t.reads.return_path() is PathKind.EXPRESSROUTE
    assert [e["event"] for e in t.fault_events(0)] == ["fault", "restore"]
    fault.undo()  # undone already: nothing more is sent
    assert inner.events == ["peering Disabled", "peering Enabled"]


def test_journal_entry_names_what_repair_needs(face: Server, tmp_path: Path) -> None:
    entry = target(face, tmp_path, allow_disruption=True).fault("disable-peering").journal_entry()
    pre_fault = json.loads(entry.pop("pre_fault"))
    peering = "/subscriptions/00000000-0000-4000-8000-00000000e7d1/resourceGroups/erdrill-lab" \
        "/providers/Microsoft.Network/expressRouteCircuits/er-circuit"  # fmt: skip
    assert entry == {
        "target": "azure",
        "fault": "disable-peering",
        "config": "",
        "subscription_id": "00000000-0000-4000-8000-00000000e7d1",
        "resource_group": "erdrill-lab",
        "circuit": "er-circuit",
        "peering": "AzurePrivatePeering",
        "er_gateway": "er-gateway",
        "arm_endpoint": "lab",
        "peering_id": f"{peering}/peerings/AzurePrivatePeering",
        "circuit_id": peering,
        "er_gateway_id": peering.replace("expressRouteCircuits/er-circuit",
                                         "virtualNetworkGateways/er-gateway"),
    }  # fmt: skip
    assert pre_fault["properties"]["state"] == "Enabled"
    assert "provisioningState" not in pre_fault["properties"]  # writable fields only


def test_a_fault_never_injected_is_not_undone(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    target(face, tmp_path, allow_disruption=True).fault("disable-peering").undo()
    assert [r.operation for r in face.requests] == ["Permissions_ListForResourceGroup"]


def test_site_failover_simulation_starts_and_stops(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    t = target(face, tmp_path, method="site-failover-simulation", allow_disruption=True)
    fault = t.fault("site-failover-simulation")
    fault.inject()
    assert t.reads.return_path() is PathKind.VPN
    fault.undo()
    assert t.reads.return_path() is PathKind.EXPRESSROUTE


def test_401_names_the_credential(face: Server, backend: ScriptedBackend, tmp_path: Path) -> None:
    backend.add(EFFECTIVE, error_reply(401, "InvalidAuthenticationToken", "expired"))
    with pytest.raises(TargetError, match="401 not authenticated") as err:
        target(face, tmp_path).reads.effective_routes()
    assert "az login" in one_line(err.value)


def test_wrong_token_is_a_401(face: Server, tmp_path: Path) -> None:
    from erdrill.armface import LabFaceCredential

    t = target(face, tmp_path, credential=LabFaceCredential("not-the-token", face.endpoint))
    with pytest.raises(TargetError, match="401"):
        t.reads.connection_status()


def test_403_names_the_missing_permission(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    backend.add(EFFECTIVE, error_reply(403, "AuthorizationFailed", "no access"))
    with pytest.raises(TargetError) as err:
        target(face, tmp_path).reads.effective_routes()
    assert "Microsoft.Network/networkInterfaces/effectiveRouteTable/action" in one_line(err.value)


def test_404_names_the_resource_and_field(face: Server, tmp_path: Path) -> None:
    config = CONFIG.replace('"vpn-connection"', '"no-such-connection"')
    t = target(face, tmp_path, config=config)
    with pytest.raises(TargetError) as err:
        t.reads.connection_status()
    msg = one_line(err.value)
    assert "404" in msg and "no-such-connection" in msg and "vpn_connection" in msg


def test_429_waits_for_retry_after(face: Server, backend: ScriptedBackend, tmp_path: Path) -> None:
    t = target(face, tmp_path)
    t.reads.learned_routes("er-gateway")  # warm up: client created, connection open
    backend.add(LEARNED, error_reply(429, "TooManyRequests", "slow down", **{"Retry-After": "2"}))
    start = time.monotonic()
    routes = t.reads.learned_routes("er-gateway")
    waited = time.monotonic() - start
    assert routes and waited >= 2.0
    assert face.requests.count("POST", LEARNED) == 3  # warm-up, throttled, retried


def test_retry_after_above_the_cap_fails_at_once(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    backend.add(LEARNED, error_reply(429, "TooManyRequests", "later", **{"Retry-After": "3600"}))
    start = time.monotonic()
    with pytest.raises(TargetError, match="Retry-After 3600 s exceeds"):
        target(face, tmp_path).reads.learned_routes("er-gateway")
    assert time.monotonic() - start < 10


def test_500_then_success(face: Server, backend: ScriptedBackend, tmp_path: Path) -> None:
    backend.add(EFFECTIVE, error_reply(500, "InternalServerError", "oops"))
    assert target(face, tmp_path).reads.effective_routes()
    assert face.requests.count("POST", EFFECTIVE) == 2


def test_persistent_503_gives_up_after_the_attempts(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    backend.add(EFFECTIVE, *[error_reply(503, "ServerBusy", "busy")] * 5)
    with pytest.raises(TargetError, match=r"HTTP 503 .* after 3 attempts"):
        target(face, tmp_path).reads.effective_routes()
    assert face.requests.count("POST", EFFECTIVE) == 3


def test_lro_that_never_completes_is_bounded(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    backend.add(LEARNED, Reply(200, {"value": []}, polls=None))
    start = time.monotonic()
    with pytest.raises(TargetError) as err:
        target(face, tmp_path, timeout=3).reads.learned_routes("vpn-gateway")
    assert "operation learned routes did not complete within 3 s" in one_line(err.value)
    assert time.monotonic() - start < 8


@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, {"value": "not-a-list"}, immediate=True),
        Reply(200, {"routes": []}),
        Reply(200, raw=b"<html>gateway timeout</html>"),
        Reply(200, {"value": [{"network": 42}]}),
    ],
)
def test_unexpected_shape_is_a_clear_error(
    face: Server, backend: ScriptedBackend, tmp_path: Path, reply: Reply
) -> None:
    backend.add(LEARNED, reply)
    with pytest.raises(TargetError) as err:
        target(face, tmp_path).reads.learned_routes("er-gateway")
    assert "unexpected response shape" in one_line(err.value)


@pytest.mark.parametrize("method", ["disable-peering", "site-failover-simulation", "command"])
def test_disruptive_faults_refuse_before_any_call(
    face: Server, tmp_path: Path, method: str
) -> None:
    t = target(face, tmp_path, method=method)
    with pytest.raises(DisruptionRefused) as err:
        t.fault(method)  # refused when resolved, before the drill journals anything
    assert "allow_disruption" in one_line(err.value)
    assert isinstance(err.value, ErdrillError)
    assert len(face.requests) == 0


@pytest.mark.parametrize("method", ["disable-peering", "site-failover-simulation", "command"])
def test_plan_mode_makes_no_write_call(
    face: Server, backend: ScriptedBackend, tmp_path: Path, method: str
) -> None:
    lines: list[str] = []
    t = target(face, tmp_path, method=method, plan=True, out=lines.append)
    fault = t.fault(method)
    fault.inject()
    fault.undo()
    assert face.requests.writes() == []
    inner = backend.inner
    assert isinstance(inner, InMemoryBackend) and inner.events == []
    planned = [s for s in t.steps if s.write]
    assert len(planned) == 2 and not any(s.performed for s in planned)
    assert any(line.startswith("plan: would call") for line in lines)


def test_operator_method_waits_bounded(face: Server, tmp_path: Path) -> None:
    cfg = parse_drill_config(
        CONFIG.format(method="operator", timeout=20).replace(
            "retry_attempts = 3", "retry_attempts = 3\noperator_wait_s = 2"
        )
    )
    lines: list[str] = []
    assert cfg.azure is not None
    t = AzureTarget(cfg, arm_connection(cfg.azure, tmp_path), out=lines.append)
    with pytest.raises(TargetError, match="still up after 2 s"):
        t.fault("operator").inject()
    assert lines and lines[0].startswith("OPERATOR: ask the provider")
    assert face.requests.writes() == []


def test_unknown_fault_kind_lists_choices(face: Server, tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="use one of operator, disable-peering"):
        target(face, tmp_path).fault("cut-the-cable")


def test_a_method_other_than_the_configured_one_is_refused(face: Server, tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="not the configured fault_method 'disable-peering'"):
        target(face, tmp_path, allow_disruption=True).fault("command")


def test_face_not_running_is_one_line(tmp_path: Path) -> None:
    cfg = parse_drill_config(CONFIG.format(method="operator", timeout=5))
    assert cfg.azure is not None
    with pytest.raises(TargetError, match="python -m armface") as err:
        arm_connection(cfg.azure, tmp_path / "nothing")
    one_line(err.value)


def test_prefixes_that_are_not_the_drills_are_information(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    """A circuit that also carries another VNet (or Global Reach) passes the prefix check."""
    memory = backend.inner
    assert isinstance(memory, InMemoryBackend)
    memory.other_er_prefixes = ["10.50.0.0/16", "172.20.0.0/14"]
    t = target(face, tmp_path)
    learned = t.learned_prefixes()
    assert learned == {"azure": {"expressroute": ["10.1.0.0/16"], "vpn": ["10.1.0.0/16"]}}
    assert t.other_prefixes()["azure"]["expressroute"] == ["10.50.0.0/16", "172.20.0.0/14"]
    health = t.reads.health()
    assert not [p for p in steady_state_problems(health, learned) if p.kind in PREFIX_PROBLEMS]


def test_only_microsoft_edge_peers_decide_that_expressroute_is_down(
    face: Server, backend: ScriptedBackend, tmp_path: Path
) -> None:
    memory = backend.inner
    assert isinstance(memory, InMemoryBackend)
    memory.other_er_peers = [
        {"localAddress": "10.100.255.4", "neighbor": "10.100.255.5", "asn": 65515,
         "state": "Connected", "connectedDuration": "01:00:00", "routesReceived": 3}
    ]  # fmt: skip
    t = target(face, tmp_path)
    assert not t.reads.er_down()
    memory.set_peering_state("Disabled")
    assert t.reads.er_down(), "an iBGP peer that stays up must not hide the circuit going down"


def test_repair_acts_on_the_journaled_circuit_not_the_one_the_file_names_now() -> None:
    edited = parse_drill_config(CONFIG.format(method="disable-peering", timeout=20).replace(
        'circuit = "', 'circuit = "edited-'))  # fmt: skip
    undo = {"target": "azure", "circuit": "the-faulted-circuit", "resource_group": "rg-faulted",
            "subscription_id": "00000000-0000-4000-8000-0000000000aa", "peering": "AzurePrivatePeering"}  # fmt: skip
    cfg = journaled_config(edited, undo)
    assert cfg.azure is not None and edited.azure is not None
    assert cfg.azure.circuit == "the-faulted-circuit" and cfg.azure.resource_group == "rg-faulted"
    assert cfg.azure.subscription_id.endswith("aa") and cfg.azure.nic == edited.azure.nic
