"""How the lab's Azure face behaves: `[azure.face]` in the drill config.

The face answers at once unless told otherwise. A profile makes it behave as ARM does:
writes that run for `write_s` seconds (the operation stays InProgress until then) and
change the network partway through (`change_at`, a fraction of the write, or
`change_after_s`), the Retry-After it sends, reads that take seconds, 409
AnotherOperationInProgress for a write while another runs, occasional 429 and 5xx,
operations that end Failed, api-version and body checks, and an access log. Rates are
drawn from `seed`, per operation and call number, so a run is reproducible.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from erdrill.core.numbers import Delay, Rate

__all__ = ["API_VERSION", "READ_KINDS", "WRITE_OPERATIONS", "FaceProfile", "ReadDelays"]

API_VERSION = "2026-03-01"  # what azure-mgmt-network 33.1.0 sends

# ARM operations that change something (plan mode must make none of these)
WRITE_OPERATIONS = frozenset(
    {
        "ExpressRouteCircuitPeerings_CreateOrUpdate",
        "VirtualNetworkGateways_StartExpressRouteSiteFailoverSimulation",
        "VirtualNetworkGateways_StopExpressRouteSiteFailoverSimulation",
        "ExpressRouteCircuits_StartCircuitLinkFailoverTest",
        "ExpressRouteCircuits_StopCircuitLinkFailoverTest",
    }
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ReadDelays(_Strict):
    """Seconds each kind of read takes before its operation (or GET) answers."""

    effective_routes: Delay = 0.0
    learned_routes: Delay = 0.0
    bgp_peer_status: Delay = 0.0
    advertised_routes: Delay = 0.0
    next_hop: Delay = 0.0
    failover_test_details: Delay = 0.0
    get: Delay = 0.0  # plain GETs: the peering, the VPN connection


# operationId -> the ReadDelays field that delays it
READ_KINDS = {
    "NetworkInterfaces_GetEffectiveRouteTable": "effective_routes",
    "VirtualNetworkGateways_GetLearnedRoutes": "learned_routes",
    "VirtualNetworkGateways_GetBgpPeerStatus": "bgp_peer_status",
    "VirtualNetworkGateways_GetAdvertisedRoutes": "advertised_routes",
    "NetworkWatchers_GetNextHop": "next_hop",
    "VirtualNetworkGateways_GetFailoverAllTestDetails": "failover_test_details",
    "ExpressRouteCircuits_GetCircuitLinkFailoverAllTestsDetails": "failover_test_details",
    "ExpressRouteCircuits_GetCircuitLinkFailoverSingleTestDetails": "failover_test_details",
    "ExpressRouteCircuits_ListRoutesTable": "learned_routes",
    "VirtualNetworkGateways_Get": "get",
    "VirtualNetworkGatewayConnections_Get": "get",
    "ExpressRouteCircuitPeerings_Get": "get",
}


class FaceProfile(_Strict):
    """`[azure.face]`: the face's timing and failure behaviour (defaults: answer at once)."""

    write_s: Delay = 0.0  # a write's operation is InProgress this long
    change_at: Rate = 1.0  # when during the write the network changes (fraction of write_s)
    change_after_s: Delay | None = None  # or: seconds after the write was accepted
    retry_after_s: int = Field(default=1, ge=0, le=600)  # sent with 201/202 and InProgress
    read_s: ReadDelays = Field(default_factory=ReadDelays)
    conflicts: bool = True  # 409 AnotherOperationInProgress for a write during a write
    busy_rate: Rate = 0.0  # a write finds another (unseen) operation running: 409
    busy_s: Delay = 10.0  # how long that other operation runs
    throttle_rate: Rate = 0.0  # 429 TooManyRequests (not on operation polls)
    throttle_retry_after_s: int = Field(default=1, ge=0, le=3600)
    error_rate: Rate = 0.0  # 500/503 (not on operation polls)
    fail_rate: Rate = 0.0  # a write's operation ends Failed
    fail_operations: list[str] = Field(default_factory=list)  # operationIds that always fail
    api_versions: list[str] = Field(default_factory=lambda: [API_VERSION], min_length=1)
    check_bodies: bool = True  # 400 for a write body ARM would refuse
    seed: int = 0
    access_log: bool = True  # <lab run folder>/armface/access.jsonl
    # actions the face's identity lacks: its permissions list (Microsoft.Authorization)
    # answers actions ["*"] with these as notActions, for the drill's preflight
    denied_actions: list[str] = Field(default_factory=list)

    @field_validator("fail_operations")
    @classmethod
    def _operations(cls, v: list[str]) -> list[str]:
        for op in v:
            if op not in WRITE_OPERATIONS:
                raise ValueError(
                    f"{op!r} is not a write operation; use one of "
                    + ", ".join(sorted(WRITE_OPERATIONS))
                )
        return v

    @model_validator(mode="after")
    def _change_within_write(self) -> FaceProfile:
        if self.change_after_s is not None:
            if "change_at" in self.model_fields_set:
                raise ValueError("change_after_s: give change_at or change_after_s, not both")
            if self.change_after_s > self.write_s:
                raise ValueError(
                    f"change_after_s: {self.change_after_s:g} s is after the write ends "
                    f"(write_s {self.write_s:g}); make it at most write_s"
                )
        return self

    def change_delay_s(self) -> float:
        """Seconds from a write's acceptance to the network change."""
        if self.change_after_s is not None:
            return self.change_after_s
        return self.write_s * self.change_at

    def read_delay_s(self, operation: str) -> float:
        kind = READ_KINDS.get(operation)
        return float(getattr(self.read_s, kind)) if kind else 0.0
