"""The lab's Azure face answers as ARM does: shapes per the published swagger, LRO headers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from facekit import face_session

from erdrill.armface import InMemoryBackend, LabFaceCredential, Server, serve
from erdrill.armface.swagger import SPECS, Swagger
from erdrill.core.errors import TargetError

pytestmark = pytest.mark.skipif(not SPECS.is_dir(), reason="swagger reference data missing")

API = "api-version=2026-03-01"


@pytest.fixture
def face(tmp_path: Path) -> Iterator[Server]:
    with serve(InMemoryBackend(), tmp_path) as server:
        yield server


def _url(face: Server, tail: str) -> str:
    n = face.backend.names
    return (
        f"{face.endpoint}/subscriptions/{n.subscription_id}/resourceGroups/"
        f"{n.resource_group}/providers/Microsoft.Network/{tail}?{API}"
    )


def _lro(s: requests.Session, method: str, url: str, **kw: Any) -> requests.Response:
    """Follow ARM's LRO protocol by hand and return the final response."""
    first = s.request(method, url, **kw)
    assert first.status_code in (200, 202), first.text  # 200: an update (ARM: 201 creates)
    assert first.headers["Retry-After"] == "1"
    status_url = first.headers["Azure-AsyncOperation"]
    seen = []
    for _ in range(10):
        st = s.get(status_url)
        assert st.status_code == 200
        seen.append(st.json()["status"])
        if seen[-1] == "Succeeded":
            break
    assert seen == ["InProgress", "Succeeded"]
    assert (
        SWAGGER.check(
            st.json(),
            {"$ref": "./network.json#/definitions/AzureAsyncOperationResult"},
            "network.json",
        )
        == []
    )
    final = first.headers.get("Location") or url
    return s.get(final)


SWAGGER = Swagger()

CASES = [
    (
        "networkInterface.json",
        "NetworkInterfaces_GetEffectiveRouteTable",
        "POST",
        "networkInterfaces/workload-nic/effectiveRouteTable",
        None,
    ),
    (
        "virtualNetworkGateway.json",
        "VirtualNetworkGateways_GetLearnedRoutes",
        "POST",
        "virtualNetworkGateways/vpn-gateway/getLearnedRoutes",
        None,
    ),
    (
        "virtualNetworkGateway.json",
        "VirtualNetworkGateways_GetBgpPeerStatus",
        "POST",
        "virtualNetworkGateways/er-gateway/getBgpPeerStatus",
        None,
    ),
    (
        "expressRouteCircuit.json",
        "ExpressRouteCircuitPeerings_CreateOrUpdate",
        "PUT",
        "expressRouteCircuits/er-circuit/peerings/AzurePrivatePeering",
        {"properties": {"state": "Disabled"}},
    ),
    (
        "virtualNetworkGateway.json",
        "VirtualNetworkGateways_StopExpressRouteSiteFailoverSimulation",
        "POST",
        "virtualNetworkGateways/er-gateway/stopSiteFailoverTest",
        {"peeringLocation": "lab-location"},
    ),
]


@pytest.mark.parametrize(("file", "op", "method", "tail", "body"), CASES)
def test_lro_results_follow_the_swagger(
    face: Server, file: str, op: str, method: str, tail: str, body: Any
) -> None:
    s = face_session(face)
    final = _lro(s, method, _url(face, tail), json=body)
    assert final.status_code == 200
    schema = SWAGGER.response_schema(file, op, "200")
    assert SWAGGER.check(final.json(), schema, file) == []


@pytest.mark.parametrize(
    ("file", "op", "tail"),
    [
        (
            "virtualNetworkGateway.json",
            "VirtualNetworkGatewayConnections_Get",
            "connections/vpn-connection",
        ),
        (
            "expressRouteCircuit.json",
            "ExpressRouteCircuitPeerings_Get",
            "expressRouteCircuits/er-circuit/peerings/AzurePrivatePeering",
        ),
    ],
)
def test_gets_follow_the_swagger(face: Server, file: str, op: str, tail: str) -> None:
    r = face_session(face).get(_url(face, tail))
    assert r.status_code == 200
    assert SWAGGER.check(r.json(), SWAGGER.response_schema(file, op), file) == []


def test_errors_are_cloud_errors(face: Server) -> None:
    r = face_session(face).get(_url(face, "connections/no-such-connection"))
    assert r.status_code == 404
    schema = {"$ref": "./network.json#/definitions/CloudError"}
    assert SWAGGER.check(r.json(), schema, "network.json") == []
    assert r.json()["error"]["code"] == "ResourceNotFound"


def test_the_checker_catches_a_wrong_shape() -> None:
    schema = SWAGGER.response_schema(
        "networkInterface.json", "NetworkInterfaces_GetEffectiveRouteTable"
    )
    assert SWAGGER.check({"value": "x"}, schema, "networkInterface.json")
    bad = {"value": [{"addressPrefix": "10.0.0.0/8"}]}
    assert SWAGGER.check(bad, schema, "networkInterface.json") == [
        "$.value[0].addressPrefix: expected array, got str"
    ]
    conn = SWAGGER.response_schema(
        "virtualNetworkGateway.json", "VirtualNetworkGatewayConnections_Get"
    )
    assert any(
        "connectionType" in p
        for p in SWAGGER.check({"properties": {}}, conn, "virtualNetworkGateway.json")
    )


def test_published_examples_pass_the_checker() -> None:
    """The checker agrees with Microsoft's own examples (a check of the checker)."""
    import json

    for name, file, op in [
        (
            "ExpressRouteCircuitPeeringGet.json",
            "expressRouteCircuit.json",
            "ExpressRouteCircuitPeerings_Get",
        ),
        (
            "NetworkInterfaceEffectiveRouteTableList.json",
            "networkInterface.json",
            "NetworkInterfaces_GetEffectiveRouteTable",
        ),
    ]:
        example = json.loads((SPECS / "examples" / name).read_text())
        body = example["responses"]["200"]["body"]
        assert SWAGGER.check(body, SWAGGER.response_schema(file, op), file) == []


def test_requests_without_the_token_are_refused(face: Server) -> None:
    r = requests.get(
        _url(face, "connections/vpn-connection"),
        verify=str(face.ca_bundle),
        headers={"Authorization": "Bearer wrong"},
    )
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_certificate_is_trusted_only_through_the_lab_ca(face: Server) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(_url(face, "connections/vpn-connection"), timeout=5)


def test_lab_face_credential_refuses_real_azure() -> None:
    with pytest.raises(TargetError, match="not a loopback"):
        LabFaceCredential("t", "https://management.azure.com")


def test_request_log_counts_writes(face: Server) -> None:
    s = face_session(face)
    s.get(_url(face, "expressRouteCircuits/er-circuit/peerings/AzurePrivatePeering"))
    assert face.requests.count("GET") == 1 and face.requests.writes() == []
    s.put(
        _url(face, "expressRouteCircuits/er-circuit/peerings/AzurePrivatePeering"),
        json={"properties": {"state": "Disabled"}},
    )
    assert [w.operation for w in face.requests.writes()] == [
        "ExpressRouteCircuitPeerings_CreateOrUpdate"
    ]
    time.sleep(0)


BIRD_ROUTES = """BIRD 2.0.12 ready.
Table master4:
192.168.10.0/24      unicast [msee 10:00:01.000] * (100) [AS65010i]
\tvia 172.16.1.1 on msee
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 12076 65010
\tBGP.next_hop: 172.16.1.1
\tBGP.local_pref: 200
                     unicast [vnet 10:00:02.000] (100) [AS65010i]
\tvia 10.1.255.230 on gwsub
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65010 65010 65010 65010
10.1.0.0/16          unicast [vnet 10:00:01.000] * (100) [i]
\tvia 10.1.255.230 on gwsub
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path:
172.16.1.0/30        unicast [direct1 10:00:00.000] * (240)
\tdev msee
\tType: device univ
"""


def test_bird_route_parser() -> None:
    from erdrill.armface.lab_backend import parse_bird_protocol, parse_bird_routes

    routes = parse_bird_routes(BIRD_ROUTES)
    assert [(r.prefix, r.protocol, r.next_hop, r.best, r.bgp) for r in routes] == [
        ("192.168.10.0/24", "msee", "172.16.1.1", True, True),
        ("192.168.10.0/24", "vnet", "10.1.255.230", False, True),
        ("10.1.0.0/16", "vnet", "10.1.255.230", True, True),
        ("172.16.1.0/30", "direct1", "", True, False),
    ]
    assert routes[0].as_path == ["12076", "65010"] and routes[2].as_path == []
    info = parse_bird_protocol(
        "msee       BGP        ---        up     10:00:00.000  Established\n"
        "  BGP state:          Established\n    Neighbor address: 172.16.1.1\n"
        "    Neighbor AS:      12076\n    Routes:         1 imported, 1 exported, 1 preferred\n"
    )
    assert info == {"neighbor": "172.16.1.1", "asn": "12076", "routes": "1"}
