"""Journal and restore of a disabled peering, through the real SDK against the face.

The journal keeps the full resource IDs and the pre-fault body without secrets; the
restore writes that body back with If-Match (a 412 makes it read again) and reads the
peering afterwards: a field that differs from before the fault fails the undo.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from facekit import CONFIG, face_session, one_line

from erdrill.armface import (
    Call,
    InMemoryBackend,
    Reply,
    ScriptedBackend,
    Server,
    error_reply,
    serve,
)
from erdrill.core.config import parse_drill_config
from erdrill.core.errors import TargetError
from erdrill.targets.azure import AzureTarget, DisablePeering, arm_connection

PUT = "ExpressRouteCircuitPeerings_CreateOrUpdate"
SECRET = "md5-secret-of-the-circuit"


class CircuitBackend(InMemoryBackend):
    """A peering with an MD5 key and a VLAN a PUT sets; keeps every PUT body; `drift`
    makes the provider change the VLAN when the peering is enabled again."""

    def __init__(self) -> None:
        super().__init__()
        self.vlan = 100
        self.drift = False
        self.bodies: list[dict[str, Any]] = []

    def peering_properties(self) -> dict[str, Any]:
        return {**super().peering_properties(), "vlanId": self.vlan, "sharedKey": SECRET}

    def _ExpressRouteCircuitPeerings_CreateOrUpdate(self, call: Call) -> Reply:
        self.bodies.append(call.body)
        self.vlan = int(call.body["properties"].get("vlanId", self.vlan))
        if self.drift and call.body["properties"]["state"] == "Enabled":
            self.vlan = 200  # the provider changed the VLAN meanwhile
        return super()._ExpressRouteCircuitPeerings_CreateOrUpdate(call)


@pytest.fixture
def circuit() -> CircuitBackend:
    return CircuitBackend()


@pytest.fixture
def scripted(circuit: CircuitBackend) -> ScriptedBackend:
    return ScriptedBackend(circuit)


@pytest.fixture
def face(scripted: ScriptedBackend, tmp_path: Path) -> Iterator[Server]:
    with serve(scripted, tmp_path) as server:
        yield server


def peering_fault(face: Server, tmp_path: Path) -> DisablePeering:
    cfg = parse_drill_config(CONFIG.format(method="disable-peering", timeout=20))
    assert cfg.azure is not None
    t = AzureTarget(cfg, arm_connection(cfg.azure, tmp_path), allow_disruption=True)
    fault = t.fault("disable-peering")
    assert isinstance(fault, DisablePeering)
    return fault


def test_the_journal_keeps_the_pre_fault_body_without_the_shared_key(
    face: Server, circuit: CircuitBackend, tmp_path: Path
) -> None:
    fault = peering_fault(face, tmp_path)
    entry = fault.journal_entry()
    assert SECRET not in json.dumps(entry)
    assert entry["peering_id"].endswith(
        "/expressRouteCircuits/er-circuit/peerings/AzurePrivatePeering"
    )
    assert json.loads(entry["pre_fault"])["properties"]["vlanId"] == 100
    fault.inject()
    fault.undo()
    assert [b["properties"]["state"] for b in circuit.bodies] == ["Disabled", "Enabled"]
    assert all(b["properties"]["sharedKey"] == SECRET for b in circuit.bodies), "key lost"
    assert all("provisioningState" not in b["properties"] for b in circuit.bodies)
    assert circuit.state == "Enabled"


def test_every_write_sends_if_match_and_the_face_refuses_a_stale_etag(
    face: Server, circuit: CircuitBackend, tmp_path: Path
) -> None:
    s = face_session(face)
    n = face.backend.names
    url = (f"{face.endpoint}/subscriptions/{n.subscription_id}/resourceGroups/{n.resource_group}"
           "/providers/Microsoft.Network/expressRouteCircuits/er-circuit/peerings/"
           "AzurePrivatePeering?api-version=2026-03-01")  # fmt: skip
    etag = s.get(url).json()["etag"]
    body = {"properties": {"state": "Disabled"}}
    stale = s.put(url, json=body, headers={"If-Match": 'W/"not-the-etag"'})
    assert stale.status_code == 412 and stale.json()["error"]["code"] == "PreconditionFailed"
    assert circuit.state == "Enabled"
    assert s.put(url, json=body, headers={"If-Match": etag}).status_code == 200
    assert s.get(url).json()["etag"] != etag, "a write must change the etag"


def test_a_412_makes_the_restore_read_again(
    face: Server, scripted: ScriptedBackend, circuit: CircuitBackend, tmp_path: Path
) -> None:
    fault = peering_fault(face, tmp_path)
    fault.journal_entry()
    fault.inject()
    scripted.add(PUT, error_reply(412, "PreconditionFailed", "etag changed"))
    fault.undo()
    statuses = [r.status for r in face.requests if r.operation == PUT]
    assert statuses == [200, 412, 200], statuses
    assert circuit.state == "Enabled"


def test_a_peering_that_reads_back_otherwise_fails_the_undo(
    face: Server, circuit: CircuitBackend, tmp_path: Path
) -> None:
    fault = peering_fault(face, tmp_path)
    fault.journal_entry()
    fault.inject()
    circuit.drift = True
    with pytest.raises(TargetError) as err:
        fault.undo()
    message = one_line(err.value)
    assert "differs after the restore from before the fault: vlanId 200 (was 100)" in message
    assert SECRET not in message


def test_repair_restores_the_journaled_body(
    face: Server, circuit: CircuitBackend, tmp_path: Path
) -> None:
    dead = peering_fault(face, tmp_path)
    entry = dead.journal_entry()
    dead.inject()
    circuit.vlan = 300  # changed while the drill was dead; the journal says 100
    repair = peering_fault(face, tmp_path)
    repair.adopt(entry)
    repair.restore()
    assert circuit.bodies[-1]["properties"]["vlanId"] == 100
    assert circuit.state == "Enabled" and circuit.vlan == 100
    assert [b["properties"]["state"] for b in circuit.bodies] == ["Disabled", "Enabled"]


def test_the_scrubbed_body_never_holds_a_secret_at_any_depth() -> None:
    from erdrill.targets.azure.peering import scrubbed

    body = {"properties": {"sharedKey": "x", "ipv6PeeringConfig": {"sharedKey": "y", "a": 1},
                           "microsoftPeeringConfig": [{"authorizationKey": "z"}]}}  # fmt: skip
    assert "x" not in json.dumps(scrubbed(body)) and '"y"' not in json.dumps(scrubbed(body))
    assert scrubbed(body)["properties"]["ipv6PeeringConfig"] == {"a": 1}
