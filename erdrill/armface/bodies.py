"""Request bodies ARM would refuse: a 400 naming the first property that is wrong."""

from __future__ import annotations

from typing import Any

from erdrill.armface.backend import Call, Reply, error_reply

__all__ = ["body_problem"]


def _bad(where: str, want: str) -> Reply:
    return error_reply(
        400, "InvalidRequestFormat", f"Cannot parse the request: {where} must be {want}."
    )


# operationId -> (property path, JSON type, required) of the request body
_BODY_RULES: dict[str, list[tuple[str, type, bool]]] = {
    "ExpressRouteCircuitPeerings_CreateOrUpdate": [
        ("properties", dict, True),
        ("properties.state", str, True),
        ("properties.peeringType", str, False),
        ("properties.vlanId", int, False),
        ("properties.peerASN", int, False),
        ("properties.primaryPeerAddressPrefix", str, False),
        ("properties.secondaryPeerAddressPrefix", str, False),
    ],
    "VirtualNetworkGateways_StopExpressRouteSiteFailoverSimulation": [
        ("peeringLocation", str, True),
        ("wasSimulationSuccessful", bool, False),
        ("details", list, False),
    ],
    "ExpressRouteCircuits_StopCircuitLinkFailoverTest": [
        ("circuitTestCategory", str, True),
        ("linkType", str, True),
        ("wasSimulationSuccessful", bool, True),
        ("isVerified", bool, True),
    ],
    "NetworkWatchers_GetNextHop": [
        ("targetResourceId", str, True),
        ("sourceIPAddress", str, True),
        ("destinationIPAddress", str, True),
    ],
}


def body_problem(call: Call) -> Reply | None:
    """A 400 naming the first property of the body that ARM would not accept."""
    rules = _BODY_RULES.get(call.operation)
    if rules is None:
        return None
    if not isinstance(call.body, dict):
        return _bad("the body", "a JSON object")
    for path, kind, required in rules:
        cur: Any = call.body
        for part in path.split("."):
            cur = cur.get(part) if isinstance(cur, dict) else None
        if cur is None:
            if required:
                return _bad(f"property '{path}'", "present")
            continue
        if not isinstance(cur, kind) or (kind is int and isinstance(cur, bool)):
            return _bad(f"property '{path}'", f"of type {kind.__name__}")
    return None
