"""The face's realistic profile (`[azure.face]`), through the real SDK and plain HTTP.

Short figures (writes of 3 s, Retry-After 1) so every test takes seconds; the one slow
drill with the shipped realistic profile is in tests/test_azure_drill.py.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from facekit import CONFIG, face_session, one_line

from erdrill.armface import InMemoryBackend, Server, serve
from erdrill.armface.operations import Operations
from erdrill.armface.swagger import Swagger
from erdrill.core.config import parse_drill_config
from erdrill.core.errors import ConfigError, TargetError
from erdrill.core.face_profile import FaceProfile
from erdrill.core.paths import PathKind
from erdrill.targets.azure import AzureTarget, arm_connection

PUT = "ExpressRouteCircuitPeerings_CreateOrUpdate"
PEERING = "expressRouteCircuits/er-circuit/peerings/AzurePrivatePeering"


class TimedBackend(InMemoryBackend):
    """The in-memory network, noting when each peering change was made."""

    def __init__(self) -> None:
        super().__init__()
        self.changed_at: list[tuple[float, str]] = []

    def set_peering_state(self, state: str) -> None:
        self.changed_at.append((time.monotonic(), state))
        super().set_peering_state(state)


@pytest.fixture
def backend() -> TimedBackend:
    return TimedBackend()


def face_with(backend: TimedBackend, tmp_path: Path, **profile: Any) -> Server:
    return serve(backend, tmp_path, profile=FaceProfile.model_validate(profile, strict=False))


def target(face: Server, tmp_path: Path, timeout: float = 20, **extra: str) -> AzureTarget:
    text = CONFIG.format(method="disable-peering", timeout=timeout)
    for key, value in extra.items():
        text = text.replace("retry_attempts = 3", f"retry_attempts = 3\n{key} = {value}")
    cfg = parse_drill_config(text)
    assert cfg.azure is not None
    conn = arm_connection(cfg.azure, tmp_path)
    return AzureTarget(cfg, conn, allow_disruption=True, out=lambda line: None)


def url(face: Server, tail: str, api: str = "2026-03-01") -> str:
    n = face.backend.names
    return (f"{face.endpoint}/subscriptions/{n.subscription_id}/resourceGroups/"
            f"{n.resource_group}/providers/Microsoft.Network/{tail}?api-version={api}")  # fmt: skip


def access_log(tmp_path: Path) -> list[dict[str, Any]]:
    lines = (tmp_path / "armface" / "access.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


FaceWith = Callable[..., Server]


@pytest.fixture
def face_server() -> FaceWith:
    """Start a face with a profile in the test (marks the test `face`)."""
    return face_with


@pytest.fixture
def slow_face(backend: TimedBackend, tmp_path: Path) -> Iterator[Server]:
    with face_with(backend, tmp_path, write_s=3, change_after_s=1, retry_after_s=1) as face:
        yield face


def test_a_write_stays_in_progress_for_write_s_and_changes_the_network_partway(
    slow_face: Server, backend: TimedBackend, tmp_path: Path
) -> None:
    t = target(slow_face, tmp_path)
    fault = t.fault("disable-peering")
    sent = time.monotonic()
    fault.inject()
    returned = time.monotonic()
    assert returned - sent >= 3.0, "the SDK saw the write end before write_s"
    ((changed, state),) = backend.changed_at
    assert state == "Disabled" and 0.9 <= changed - sent < returned - sent
    polls = slow_face.requests.count("GET", "operation-status")
    assert polls >= 2, "the SDK did not poll by the face's Retry-After of 1 s"
    assert t.reads.return_path() is PathKind.VPN
    first = next(r for r in access_log(tmp_path) if r["operation"] == PUT)
    assert first["status"] == 200, "an update of an existing peering is 200 (201 creates)"
    assert first["api_version"] == "2026-03-01" and first["duration_ms"] >= 0
    assert set(first) == {"at", "method", "path", "api_version", "operation", "status",
                          "duration_ms", "write"}  # fmt: skip
    fault.undo()
    assert [s for _, s in backend.changed_at] == ["Disabled", "Enabled"]


def test_a_write_during_a_write_is_409_and_the_undo_waits_it_out(
    slow_face: Server, backend: TimedBackend, tmp_path: Path
) -> None:
    s = face_session(slow_face)
    first = s.put(url(slow_face, PEERING), json={"properties": {"state": "Disabled"}})
    assert first.status_code == 200
    during = s.get(url(slow_face, PEERING)).json()
    assert during["properties"]["provisioningState"] == "Updating"
    t = target(slow_face, tmp_path)
    t.fault("disable-peering").restore()  # the undo: Enabled again, whatever runs now
    statuses = [r.status for r in slow_face.requests if r.operation == PUT]
    assert statuses[0] == 200 and 409 in statuses and statuses[-1] == 200, statuses
    assert [s for _, s in backend.changed_at] == ["Disabled", "Enabled"]
    conflict = s.put(url(slow_face, PEERING), json={"properties": {"state": "Disabled"}})
    again = s.put(url(slow_face, PEERING), json={"properties": {"state": "Enabled"}})
    assert conflict.status_code == 200 and again.status_code == 409
    assert again.json()["error"]["code"] == "AnotherOperationInProgress"


def test_an_undo_after_a_write_that_timed_out_keeps_it_from_undoing_the_undo(
    backend: TimedBackend, tmp_path: Path, face_server: FaceWith
) -> None:
    with face_server(backend, tmp_path, write_s=4, change_at=1.0, retry_after_s=1) as face:
        with pytest.raises(TargetError, match="did not complete within 2 s"):
            target(face, tmp_path, timeout=2).fault("disable-peering").inject()
        t = target(face, tmp_path, timeout=10)  # the undo (or journal repair) of that write
        t.fault("disable-peering").restore()  # reads Enabled, but Updating: it is sent
        assert [s for _, s in backend.changed_at] == ["Disabled", "Enabled"]
        assert t.reads.peering_state() == "Enabled"


def test_a_failed_operation_is_a_clear_error_and_changes_nothing(
    backend: TimedBackend, tmp_path: Path, face_server: FaceWith
) -> None:
    face = face_server(backend, tmp_path, write_s=1, fail_operations=[PUT])
    with face, pytest.raises(TargetError) as err:
        target(face, tmp_path).fault("disable-peering").inject()
    message = one_line(err.value)
    assert (
        "peering write" in message and "the operation ended Failed: InternalServerError" in message
    )
    assert backend.changed_at == [] and backend.state == "Enabled"
    assert face.requests.count("PUT", PUT) == 1, "a failed operation is not sent again"


def _throttled_first_call_only(backend: TimedBackend, operation: str) -> int:
    """A seed whose first call of `operation` is throttled and whose second is not."""
    for seed in range(500):
        ops = Operations(backend, FaceProfile(throttle_rate=0.5, seed=seed))
        first, second = ops.injected_error(operation), ops.injected_error(operation)
        if first is not None and first.status == 429 and second is None:
            return seed
    raise AssertionError("no such seed below 500")


def test_429_and_5xx_come_at_the_configured_rate_reproducibly(
    backend: TimedBackend, tmp_path: Path, face_server: FaceWith
) -> None:
    profile = FaceProfile(throttle_rate=0.3, error_rate=0.2, seed=7)
    runs = []
    for _ in range(2):
        ops = Operations(backend, profile)
        runs.append([(r.status if (r := ops.injected_error("op")) else 200) for _ in range(200)])
    assert runs[0] == runs[1], "the same seed gave different failures"
    assert 40 <= runs[0].count(429) <= 80 and {500, 503} <= set(runs[0])
    seed = _throttled_first_call_only(backend, "VirtualNetworkGateways_GetLearnedRoutes")
    with face_server(backend, tmp_path, throttle_rate=0.5, seed=seed) as face:
        assert target(face, tmp_path).reads.learned_routes("er-gateway")
        first = next(r for r in face.requests if r.operation.endswith("GetLearnedRoutes"))
        assert first.status == 429, "the seeded first call was not throttled"


@pytest.mark.parametrize(("version", "code"), [
    ("2099-01-01", "NoRegisteredProviderFound"), ("latest", "InvalidApiVersionParameter"),
])  # fmt: skip
def test_an_unknown_api_version_is_arms_400(slow_face: Server, version: str, code: str) -> None:
    r = face_session(slow_face).get(url(slow_face, PEERING, api=version))
    assert r.status_code == 400 and r.json()["error"]["code"] == code
    assert "2026-03-01" in r.json()["error"]["message"]
    schema = {"$ref": "./network.json#/definitions/CloudError"}
    assert Swagger().check(r.json(), schema, "network.json") == []


@pytest.mark.parametrize(("body", "named"), [
    ({"properties": {"vlanId": 100}}, "properties.state"),
    ({"properties": {"state": "Disabled", "vlanId": "100"}}, "properties.vlanId"),
    (["not", "an", "object"], "the body"),
])  # fmt: skip
def test_a_body_arm_would_refuse_is_400_naming_the_property(
    slow_face: Server, backend: TimedBackend, body: Any, named: str
) -> None:
    r = face_session(slow_face).put(url(slow_face, PEERING), json=body)
    assert r.status_code == 400 and named in r.json()["error"]["message"]
    assert backend.changed_at == []


def test_reads_take_their_read_delay_and_show_the_network_when_they_finish(
    backend: TimedBackend, tmp_path: Path, face_server: FaceWith
) -> None:
    profile = {"retry_after_s": 1, "read_s": {"effective_routes": 2}}
    with face_server(backend, tmp_path, **profile) as face:
        t = target(face, tmp_path)
        flip = threading.Timer(0.5, backend.set_peering_state, ("Disabled",))
        flip.start()
        start = time.monotonic()
        routes = t.reads.effective_routes()
        assert time.monotonic() - start >= 2.0
        flip.join()
    active = [r for r in routes if r.source == "VirtualNetworkGateway" and r.state == "Active"]
    assert active and all("10.1.255.228" in r.next_hop_ip_address for r in active), routes


def test_bad_profile_values_are_one_line_errors() -> None:
    base = CONFIG.format(method="disable-peering", timeout=20)
    for bad, field in [("write_s = -2", "azure.face.write_s"),
                       ("change_at = 1.5", "azure.face.change_at"),
                       ("write_s = 3\nchange_after_s = 9", "azure.face.change_after_s"),
                       ("throttle_rate = 2", "azure.face.throttle_rate"),
                       ("fail_operations = [\"Get\"]", "azure.face.fail_operations")]:  # fmt: skip
        with pytest.raises(ConfigError) as err:
            parse_drill_config(base + "\n[azure.face]\n" + bad + "\n")
        assert field in one_line(err.value), err.value
    with pytest.raises(ConfigError, match="shapes only the lab's face"):
        parse_drill_config(base.replace('arm_endpoint = "lab"', "") + "\n[azure.face]\n")


def test_the_shipped_realistic_profile_has_the_figures_the_issue_asks_for() -> None:
    from erdrill.core.config import load_drill_config

    cfg = load_drill_config(Path(__file__).parents[1] / "examples" / "lab-as-azure-realistic.toml")
    assert cfg.azure is not None and cfg.azure.face is not None
    face = cfg.azure.face
    assert face.write_s >= 20 and face.retry_after_s == 10
    assert 0 < face.change_delay_s() < face.write_s  # the network changes partway through
    assert face.read_s.effective_routes >= 1 and face.read_s.learned_routes >= 1
