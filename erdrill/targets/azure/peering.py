"""The circuit peering's body: what a drill may write back, journal and compare.

ARM returns read-only fields (provisioningState, etag, stats, connections, ...) beside the
writable ones; a PUT sends only the writable ones. The journal keeps the pre-fault body
scrubbed of secrets (the MD5 `sharedKey`); a restore writes the pre-fault writable fields
over the current body (which keeps the circuit's own sharedKey, never read from the
journal), and afterwards every journaled writable field must read back as it was.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "SECRET_FIELDS",
    "differences",
    "journaled_body",
    "restored_body",
    "scrubbed",
    "writable",
]

# properties ARM computes (never sent back, never compared)
READ_ONLY = frozenset(
    {
        "provisioningState",
        "lastModifiedBy",
        "primaryAzurePort",
        "secondaryAzurePort",
        "gatewayManagerEtag",
        "stats",
        "connections",
        "peeredConnections",
        "expressRouteConnection",
        "resourceGuid",
    }
)
SECRET_FIELDS = frozenset({"sharedKey", "authorizationKey"})


def writable(body: dict[str, Any]) -> dict[str, Any]:
    """The body a PUT sends: `properties` without the read-only fields (secrets kept)."""
    props = body.get("properties") or {}
    return {"properties": {k: v for k, v in props.items() if k not in READ_ONLY}}


def scrubbed(body: dict[str, Any]) -> dict[str, Any]:
    """The writable body without secrets, at any depth (what the journal may keep)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if k not in SECRET_FIELDS}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    out: dict[str, Any] = clean(writable(body))
    return out


def journaled_body(body: dict[str, Any]) -> str:
    """The pre-fault body as the journal keeps it: scrubbed JSON, keys sorted."""
    return json.dumps(scrubbed(body), sort_keys=True)


def restored_body(current: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """The current writable body with every pre-fault writable field written back."""
    now = writable(current)["properties"]
    return {"properties": {**now, **(before.get("properties") or {})}}


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Each journaled writable field that reads back otherwise: 'state Disabled (was Enabled)'."""
    want = scrubbed(before)["properties"]
    have = scrubbed(after)["properties"]
    return [
        f"{name} {json.dumps(have.get(name))} (was {json.dumps(value)})"
        for name, value in sorted(want.items())
        if have.get(name) != value
    ]
