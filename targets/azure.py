"""The Azure target: control-plane evidence and the ExpressRoute fault, through the Azure SDK.

Credentials: real Azure uses azure-identity's DefaultAzureCredential (az login, managed
identity, AZURE_* variables); erdrill stores nothing. When `arm_endpoint = "lab"` the
target talks to the lab's Azure face (armface) with its per-lab CA and static token
(armface.LabFaceCredential, which refuses any non-loopback endpoint).

Retries: the SDK's own RetryPolicy would retry 429/5xx up to 10 times and sleep whatever
Retry-After the server sends, unbounded. It is switched off (retry_total=0) and one
explicit layer replaces it: tenacity retries 429, 500, 502, 503, 504 and connection errors
up to `retry_attempts` times, sleeping the server's Retry-After when given (a Retry-After
above `retry_after_cap_s` fails at once) or an exponential backoff (0.5 s doubling, at most
8 s). A long-running operation is retried whole (re-issued) if its polling fails.

Bounds: every long-running operation waits at most `operation_timeout_s`, then fails with
"operation X did not complete within N s". Errors are one-line TargetErrors naming the
permission (403), the resource and config field (404) or the credential (401).

Safety: disruptive faults refuse without allow_disruption=True before any call at all; in
plan mode every step and API call is recorded (`steps`) and printed, reads are made, and
no write call is sent.

Paths: the return path (Azure -> on-premises) comes from the NIC's effective routes and
the gateways' learned routes (targets.classify). The forward path (on-premises -> Azure)
is not visible from Azure: health() reports it as unknown and the probes classify it by
the reply-TTL signatures given per probe target.
"""

from __future__ import annotations

import shlex
import subprocess
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    DeserializationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.polling import LROPoller
from pydantic import BaseModel, ValidationError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from erdrill.config import AzureConfig, DrillConfig, ProbeSection
from erdrill.errors import ErdrillError, TargetError
from erdrill.paths import PathKind, PathPair
from erdrill.routes import RouteTable
from targets.base import Health, ProbeTarget
from targets.classify import (
    BgpPeer,
    EffectiveRoute,
    GatewayRoute,
    gateway_route_table,
    nic_route_table,
    path_to_prefix,
)

__all__ = ["FAULT_METHODS", "ApiStep", "AzureTarget", "DisruptionRefused"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

FAULT_METHODS = ("operator", "disable-peering", "site-failover-simulation", "command")
DISRUPTIVE = frozenset({"disable-peering", "site-failover-simulation", "command"})
ARM_SCOPE = "https://management.azure.com/.default"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

# operation -> (RBAC action needed, config field naming the resource)
OPERATIONS: dict[str, tuple[str, str]] = {
    "effective routes": ("Microsoft.Network/networkInterfaces/effectiveRouteTable/action", "nic"),
    "learned routes": (
        "Microsoft.Network/virtualNetworkGateways/getLearnedRoutes/action",
        "er_gateway/vpn_gateway",
    ),
    "BGP peer status": (
        "Microsoft.Network/virtualNetworkGateways/getBgpPeerStatus/action",
        "er_gateway/vpn_gateway",
    ),
    "VPN connection": ("Microsoft.Network/connections/read", "vpn_connection"),
    "peering read": ("Microsoft.Network/expressRouteCircuits/peerings/read", "circuit/peering"),
    "peering write": ("Microsoft.Network/expressRouteCircuits/peerings/write", "circuit/peering"),
    "site failover start": (
        "Microsoft.Network/virtualNetworkGateways/startSiteFailoverTest/action",
        "er_gateway",
    ),
    "site failover stop": (
        "Microsoft.Network/virtualNetworkGateways/stopSiteFailoverTest/action",
        "er_gateway",
    ),
}


class DisruptionRefused(ErdrillError):
    """A disruptive fault was asked for without allow_disruption."""


class _ShapeError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class ApiStep:
    """One step of a fault or check: an API call (read or write) or an operator action."""

    at: float
    action: str
    write: bool
    detail: str
    performed: bool  # False in plan mode for writes and commands

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class _Snapshot:
    taken_at: float
    effective: list[EffectiveRoute]
    learned: dict[str, list[GatewayRoute]]
    peers: dict[str, list[BgpPeer]]
    connection_status: str
    peering_state: str
    extra: dict[str, Any] = field(default_factory=dict)


def _raw_json(pipeline_response: Any, deserialized: Any, headers: Any) -> Any:
    """`cls=` hook: hand back the response body as parsed JSON, not SDK models."""
    return pipeline_response.http_response.json()


class _ValueList(BaseModel):
    value: list[dict[str, Any]]


def _bgp_state(arm_state: str) -> str:
    return {"Connected": "established", "Unknown": "unknown"}.get(arm_state, "down")


class AzureTarget:
    """The Target protocol over ARM: a real circuit, or the lab's Azure face."""

    name = "azure"

    def __init__(
        self,
        cfg: AzureConfig,
        *,
        probe: ProbeSection | None = None,
        lab_run_dir: Path | None = None,
        allow_disruption: bool = False,
        plan: bool = False,
        credential: Any = None,
        out: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cfg = cfg
        self.probe = probe or ProbeSection()
        self.allow_disruption = allow_disruption
        self.plan = plan
        self.steps: list[ApiStep] = []
        self._out = out
        self._sleep = sleep
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.endpoint, self.ca_bundle, self._credential = self._connection(
            cfg, lab_run_dir, credential
        )
        self._client: Any = None

    @classmethod
    def from_config(
        cls, config: DrillConfig, *, lab_run_dir: Path | None = None, **kwargs: Any
    ) -> AzureTarget:
        """Build from a drill config (`[azure]` must be present)."""
        if config.azure is None:
            raise TargetError("azure target: the drill config has no [azure] section")
        return cls(config.azure, probe=config.probe, lab_run_dir=lab_run_dir, **kwargs)

    # --- connection ------------------------------------------------------------------------
    @staticmethod
    def _connection(
        cfg: AzureConfig, lab_run_dir: Path | None, credential: Any
    ) -> tuple[str, str | None, Any]:
        from armface.credential import LabFaceCredential, is_loopback_endpoint

        if cfg.is_lab_face:
            from armface.server import discover

            if lab_run_dir is None:
                raise TargetError(
                    "azure target: arm_endpoint = 'lab' needs the running lab's run folder"
                )
            face = discover(lab_run_dir)
            cred = credential or LabFaceCredential(face.token(), face.endpoint)
            return face.endpoint, str(face.ca_bundle), cred
        ca = cfg.ca_bundle
        if ca is not None and not Path(ca).is_file():
            raise TargetError(
                f"azure target: ca_bundle {ca!r} is not a file; fix [azure] ca_bundle"
            )
        if credential is None and is_loopback_endpoint(cfg.arm_endpoint):
            raise TargetError(
                "azure target: a loopback arm_endpoint needs the lab face: set arm_endpoint = 'lab'"
            )
        return cfg.arm_endpoint, ca, credential

    @property
    def client(self) -> Any:
        """The NetworkManagementClient, created on first use."""
        with self._lock:
            if self._client is None:
                from azure.mgmt.network import NetworkManagementClient

                cred = self._credential
                if cred is None:
                    from azure.identity import DefaultAzureCredential

                    cred = self._credential = DefaultAzureCredential()
                scope = (
                    ARM_SCOPE
                    if self.endpoint.startswith("https://management.azure.com")
                    else f"{self.endpoint}/.default"
                )
                kwargs: dict[str, Any] = {}
                if self.ca_bundle:
                    kwargs["connection_verify"] = self.ca_bundle
                self._client = NetworkManagementClient(
                    cred,
                    self.cfg.subscription_id,
                    base_url=self.endpoint,
                    credential_scopes=[scope],
                    retry_total=0,  # one explicit retry layer: tenacity, below
                    polling_interval=self.cfg.poll_interval_s,
                    connection_timeout=10,
                    read_timeout=60,
                    **kwargs,
                )
            return self._client

    # --- calls -----------------------------------------------------------------------------
    def _record(self, action: str, write: bool, detail: str, performed: bool) -> None:
        step = ApiStep(time.time(), action, write, detail, performed)
        with self._lock:
            self.steps.append(step)
        if self.plan:
            verb = "would call" if not performed else "calls"
            self._out(f"plan: {verb} {action}: {detail}")

    def _wait(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = _retry_after(exc)
        if after is not None:
            return after
        return float(min(8.0, 0.5 * 2 ** (retry_state.attempt_number - 1)))

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return True
        if isinstance(exc, HttpResponseError) and exc.status_code in RETRY_STATUS:
            after = _retry_after(exc)
            return not (after is not None and after > self.cfg.retry_after_cap_s)
        return False

    def _call(
        self, action: str, detail: str, fn: Callable[[], T], *, write: bool = False
    ) -> T | None:
        """Run one API call with retries and clear errors; a write in plan mode is skipped."""
        if write and self.plan:
            self._record(action, True, detail, performed=False)
            return None
        self._record(action, write, detail, performed=True)
        retrying = Retrying(
            retry=retry_if_exception(self._retryable),
            stop=stop_after_attempt(self.cfg.retry_attempts)
            | stop_after_delay(self.cfg.operation_timeout_s),
            wait=self._wait,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(fn)
        except ErdrillError:
            raise
        except Exception as exc:
            raise self._explain(action, detail, exc) from None

    def _lro(self, action: str, poller: LROPoller[Any]) -> Any:
        limit = self.cfg.operation_timeout_s
        poller.wait(timeout=limit)
        if not poller.done():
            raise TargetError(f"azure: operation {action} did not complete within {limit:g} s")
        return poller.result()

    def _explain(self, action: str, detail: str, exc: Exception) -> TargetError:
        perm, field_name = OPERATIONS.get(action, ("", ""))
        if isinstance(
            exc,
            DecodeError
            | DeserializationError
            | _ShapeError
            | ValidationError
            | ValueError
            | KeyError
            | TypeError
            | AttributeError,
        ):
            msg = _first_line(str(exc))
            return TargetError(
                f"azure: {action} ({detail}): unexpected response shape: {msg}; the face or API "
                "version may not match azure-mgmt-network 33.1.0 (api 2026-03-01)"
            )
        if isinstance(exc, ClientAuthenticationError) or (
            isinstance(exc, HttpResponseError) and exc.status_code == 401
        ):
            return TargetError(
                f"azure: {action}: 401 not authenticated ({_code(exc)}); sign in (az login) or "
                "fix the credential DefaultAzureCredential uses (the lab face: its token)"
            )
        if isinstance(exc, HttpResponseError) and exc.status_code == 403:
            return TargetError(
                f"azure: {action} ({detail}): 403 forbidden ({_code(exc)}); grant the identity "
                f"{perm or 'the needed permission'} on resource group {self.cfg.resource_group}"
            )
        if isinstance(exc, ResourceNotFoundError) or (
            isinstance(exc, HttpResponseError) and exc.status_code == 404
        ):
            return TargetError(
                f"azure: {action}: 404 not found: {detail} ({_code(exc)}: {_message(exc)}); "
                f"check [azure] {field_name or 'resource names'}, resource_group and "
                "subscription_id"
            )
        if isinstance(exc, HttpResponseError):
            status = exc.status_code
            if status is None or status < 400:
                return TargetError(
                    f"azure: {action} ({detail}): unexpected response: {_first_line(str(exc))}"
                )
            if status in RETRY_STATUS:
                after = _retry_after(exc)
                if after is not None and after > self.cfg.retry_after_cap_s:
                    return TargetError(
                        f"azure: {action}: HTTP {status}, Retry-After {after:g} s exceeds "
                        f"retry_after_cap_s {self.cfg.retry_after_cap_s:g}; try again later"
                    )
                return TargetError(
                    f"azure: {action}: HTTP {status} ({_code(exc)}) after "
                    f"{self.cfg.retry_attempts} attempts; try again later"
                )
            return TargetError(f"azure: {action}: HTTP {status} {_code(exc)}: {_message(exc)}")
        if isinstance(exc, ServiceRequestError | ServiceResponseError):
            return TargetError(
                f"azure: {action}: cannot reach {self.endpoint}: {_first_line(str(exc))}"
            )
        name = type(exc).__name__
        if name == "CredentialUnavailableError":
            return TargetError(
                "azure: no credential: DefaultAzureCredential found none; run az login or set "
                "AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET"
            )
        return TargetError(f"azure: {action}: {name}: {_first_line(str(exc))}")

    # --- reads -----------------------------------------------------------------------------
    def _list(
        self, action: str, detail: str, begin: Callable[[], LROPoller[Any]], model: type[M]
    ) -> list[M]:
        def run() -> list[M]:
            body = self._lro(action, begin())
            return _parse_list(body, model)

        return self._call(action, detail, run) or []

    def effective_routes(self) -> list[EffectiveRoute]:
        c, rg = self.client, self.cfg.resource_group
        return self._list(
            "effective routes",
            f"network interface {self.cfg.nic}",
            lambda: c.network_interfaces.begin_get_effective_route_table(
                rg, self.cfg.nic, cls=_raw_json
            ),
            EffectiveRoute,
        )

    def learned_routes(self, gateway: str) -> list[GatewayRoute]:
        c, rg = self.client, self.cfg.resource_group
        return self._list(
            "learned routes",
            f"virtual network gateway {gateway}",
            lambda: c.virtual_network_gateways.begin_get_learned_routes(rg, gateway, cls=_raw_json),
            GatewayRoute,
        )

    def bgp_peers(self, gateway: str) -> list[BgpPeer]:
        c, rg = self.client, self.cfg.resource_group
        return self._list(
            "BGP peer status",
            f"virtual network gateway {gateway}",
            lambda: c.virtual_network_gateways.begin_get_bgp_peer_status(
                rg, gateway, cls=_raw_json
            ),
            BgpPeer,
        )

    def connection_status(self) -> str:
        c, rg, name = self.client, self.cfg.resource_group, self.cfg.vpn_connection

        def run() -> str:
            body = c.virtual_network_gateway_connections.get(rg, name, cls=_raw_json)
            return _dig_str(body, "properties", "connectionStatus")

        return self._call("VPN connection", f"connection {name}", run) or "Unknown"

    def _peering_body(self) -> dict[str, Any]:
        c, cfg = self.client, self.cfg

        def run() -> dict[str, Any]:
            body = c.express_route_circuit_peerings.get(
                cfg.resource_group, cfg.circuit, cfg.peering, cls=_raw_json
            )
            _dig_str(body, "properties", "state")
            return dict(body)

        return self._call("peering read", f"circuit {cfg.circuit} peering {cfg.peering}", run) or {}

    def peering_state(self) -> str:
        return _dig_str(self._peering_body(), "properties", "state")

    def snapshot(self) -> _Snapshot:
        """Every control-plane read, made concurrently."""
        gws = (self.cfg.er_gateway, self.cfg.vpn_gateway)
        with ThreadPoolExecutor(max_workers=7, thread_name_prefix="azure-read") as pool:
            eff = pool.submit(self.effective_routes)
            learned = {g: pool.submit(self.learned_routes, g) for g in gws}
            peers = {g: pool.submit(self.bgp_peers, g) for g in gws}
            conn = pool.submit(self.connection_status)
            peering = pool.submit(self.peering_state)
            return _Snapshot(
                taken_at=time.time(),
                effective=eff.result(),
                learned={g: f.result() for g, f in learned.items()},
                peers={g: f.result() for g, f in peers.items()},
                connection_status=conn.result(),
                peering_state=peering.result(),
            )

    def _tables(self, snap: _Snapshot) -> list[RouteTable]:
        rule = self.cfg.classification
        all_learned = [r for routes in snap.learned.values() for r in routes]
        tables = [
            nic_route_table(f"nic:{self.cfg.nic}", snap.effective, all_learned, rule, snap.taken_at)
        ]
        for gw, routes in snap.learned.items():
            tables.append(gateway_route_table(f"gateway:{gw}", routes, rule, snap.taken_at))
        return tables

    # --- Target protocol -------------------------------------------------------------------
    def describe(self) -> dict[str, str]:
        c = self.cfg
        return {
            "target": "azure" if not c.is_lab_face else "azure (lab face)",
            "arm_endpoint": self.endpoint,
            "resource_group": c.resource_group,
            "circuit": f"{c.circuit}/{c.peering}",
            "er_gateway": c.er_gateway,
            "vpn_gateway": c.vpn_gateway,
            "vpn_connection": c.vpn_connection,
            "fault_method": c.fault_method,
            "classification": c.classification.rule,
            "sdk": "azure-mgmt-network 33.1.0",
        }

    def ensure_ready(self) -> None:
        """Azure is not built by erdrill: check it is healthy (ER up, tunnel up), or fail."""
        h = self.health()
        problems = [f"BGP {k} is {v}" for k, v in h.bgp.items() if v != "established"]
        if h.tunnel != "up":
            problems.append(f"VPN connection {self.cfg.vpn_connection} is not connected")
        if h.details.get("peering_state") != "Enabled":
            problems.append(f"peering {self.cfg.peering} is {h.details.get('peering_state')}")
        if problems:
            raise TargetError("azure not ready: " + "; ".join(problems))

    def health(self) -> Health:
        snap = self.snapshot()
        bgp = {
            f"{gw}/{p.neighbor}": _bgp_state(p.state)
            for gw, peers in snap.peers.items()
            for p in peers
        }
        nic = self._tables(snap)[0]
        by_prefix = {p: path_to_prefix(p, nic) for p in self.cfg.onprem_prefixes}
        kinds = set(by_prefix.values())
        ret = kinds.pop() if len(kinds) == 1 else PathKind.UNKNOWN
        return Health(
            bgp=bgp,
            tunnel="up" if snap.connection_status == "Connected" else "down",
            paths=PathPair(PathKind.UNKNOWN, ret),
            details={
                "peering_state": snap.peering_state,
                "connection_status": snap.connection_status,
                "bgp_arm_states": {
                    f"{gw}/{p.neighbor}": p.state for gw, peers in snap.peers.items() for p in peers
                },
                "return_by_prefix": {p: k.value for p, k in by_prefix.items()},
                "forward": "not visible from Azure; classified by the probes' TTL signatures",
            },
        )

    def route_tables(self) -> list[RouteTable]:
        return self._tables(self.snapshot())

    def fault_kinds(self) -> list[str]:
        return [self.cfg.fault_method]

    def probe_targets(self) -> list[ProbeTarget]:
        return [
            ProbeTarget(
                t.address,
                t.tcp_port,
                t.name or t.address,
                {str(k): v for k, v in t.ttl_signatures.items()},
            )
            for t in self.probe.targets
        ]

    def probe_namespace(self) -> str | None:
        return self.probe.namespace

    def ground_truth(self, since: float) -> list[dict[str, Any]]:
        with self._lock:
            return [e for e in self._events if e["at"] >= since]

    # --- faults ----------------------------------------------------------------------------
    def _check(self, kind: str) -> None:
        if kind not in FAULT_METHODS:
            raise TargetError(
                f"azure: unknown fault kind {kind!r}; use one of {', '.join(FAULT_METHODS)}"
            )
        if kind != self.cfg.fault_method:
            raise TargetError(
                f"azure: fault kind {kind!r} is not the configured fault_method "
                f"{self.cfg.fault_method!r}; set [azure] fault_method"
            )
        if kind in DISRUPTIVE and not self.allow_disruption and not self.plan:
            raise DisruptionRefused(
                f"azure: fault {kind!r} disrupts a live circuit; refused without "
                "allow_disruption (pass --allow-disruption, or --plan to only print the steps)"
            )

    def _event(self, kind: str, what: str) -> None:
        with self._lock:
            self._events.append(
                {"at": time.time(), "event": what, "fault": kind, "plan": self.plan}
            )

    def inject(self, kind: str) -> None:
        self._check(kind)
        getattr(self, "_inject_" + kind.replace("-", "_"))()
        self._event(kind, "fault")

    def undo(self, kind: str) -> None:
        self._check(kind)
        getattr(self, "_undo_" + kind.replace("-", "_"))()
        self._event(kind, "restore")

    def _set_peering(self, state: str) -> None:
        cfg = self.cfg
        body = self._peering_body()
        current = _dig_str(body, "properties", "state")
        detail = (
            f"PUT circuit {cfg.circuit} peering {cfg.peering} state {current} -> {state} "
            "(express_route_circuit_peerings.begin_create_or_update)"
        )
        if current == state and not self.plan:
            self._record("peering write", True, detail + ": already so, skipped", False)
            return
        new = {**body, "properties": {**body["properties"], "state": state}}
        c = self.client
        result = self._call(
            "peering write",
            detail,
            lambda: self._lro(
                "peering write",
                c.express_route_circuit_peerings.begin_create_or_update(
                    cfg.resource_group, cfg.circuit, cfg.peering, new, cls=_raw_json
                ),
            ),
            write=True,
        )
        if result is not None:
            seen = _dig_str(result, "properties", "state")
            if seen != state:
                raise TargetError(f"azure: peering {cfg.peering} is {seen} after setting {state}")

    def _inject_disable_peering(self) -> None:
        self._set_peering("Disabled")

    def _undo_disable_peering(self) -> None:
        self._set_peering("Enabled")

    def _inject_site_failover_simulation(self) -> None:
        cfg, c = self.cfg, self.client
        loc = cfg.peering_location or ""
        self._call(
            "site failover start",
            f"POST {cfg.er_gateway}/startSiteFailoverTest peeringLocation={loc} "
            "(begin_start_express_route_site_failover_simulation)",
            lambda: self._lro(
                "site failover start",
                c.virtual_network_gateways.begin_start_express_route_site_failover_simulation(
                    cfg.resource_group, cfg.er_gateway, peering_location=loc, cls=_raw_json
                ),
            ),
            write=True,
        )

    def _undo_site_failover_simulation(self) -> None:
        cfg, c = self.cfg, self.client
        params: dict[str, Any] = {
            "peeringLocation": cfg.peering_location,
            "wasSimulationSuccessful": True,
            "details": [],
        }
        self._call(
            "site failover stop",
            f"POST {cfg.er_gateway}/stopSiteFailoverTest peeringLocation={cfg.peering_location} "
            "(begin_stop_express_route_site_failover_simulation)",
            lambda: self._lro(
                "site failover stop",
                c.virtual_network_gateways.begin_stop_express_route_site_failover_simulation(
                    cfg.resource_group, cfg.er_gateway, params, cls=_raw_json
                ),
            ),
            write=True,
        )

    def _run_command(self, which: str) -> None:
        cmds = self.cfg.fault_commands
        assert cmds is not None  # the config guarantees it for method "command"
        command = cmds.inject if which == "inject" else cmds.undo
        if self.plan:
            self._record(f"command {which}", True, command, performed=False)
            return
        self._record(f"command {which}", True, command, performed=True)
        try:
            done = subprocess.run(
                shlex.split(command),
                capture_output=True,
                text=True,
                timeout=cmds.timeout_s,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TargetError(f"azure: {which} command {command!r} failed: {exc}") from None
        if done.returncode != 0:
            tail = _first_line(done.stderr or done.stdout)
            raise TargetError(
                f"azure: {which} command {command!r} exited {done.returncode}: {tail}"
            )

    def _inject_command(self) -> None:
        self._run_command("inject")

    def _undo_command(self) -> None:
        self._run_command("undo")

    def _inject_operator(self) -> None:
        self._ask_operator(
            "ask the provider to stop ExpressRoute connectivity on circuit "
            f"{self.cfg.circuit} (private peering) for the test",
            want_down=True,
        )

    def _undo_operator(self) -> None:
        self._ask_operator(
            f"ask the provider to re-establish ExpressRoute connectivity on {self.cfg.circuit}",
            want_down=False,
        )

    def _er_down(self) -> bool:
        peers = self.bgp_peers(self.cfg.er_gateway)
        return not any(p.state == "Connected" for p in peers)

    def _ask_operator(self, request: str, *, want_down: bool) -> None:
        limit = self.cfg.operator_wait_s
        self._record("operator", False, request, performed=not self.plan)
        if self.plan:
            return
        self._out(
            f"OPERATOR: {request}; waiting up to {limit:g} s for the ER gateway's BGP "
            f"peers to go {'down' if want_down else 'up'}"
        )
        deadline = time.monotonic() + limit
        while True:
            if self._er_down() == want_down:
                return
            if time.monotonic() >= deadline:
                raise TargetError(
                    f"azure: ExpressRoute still {'up' if want_down else 'down'} after "
                    f"{limit:g} s of operator_wait_s; check with the provider"
                )
            self._sleep(min(10.0, max(0.0, deadline - time.monotonic())))


def _retry_after(exc: BaseException | None) -> float | None:
    if not isinstance(exc, HttpResponseError) or exc.response is None:
        return None
    headers: Any = getattr(exc.response, "headers", {})
    for name, scale in (
        ("retry-after-ms", 1000.0),
        ("x-ms-retry-after-ms", 1000.0),
        ("retry-after", 1.0),
    ):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / scale)
            except ValueError:
                return None
    return None


def _code(exc: Exception) -> str:
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None)
    if code:
        return str(code)
    reason = getattr(exc, "reason", None)
    return str(reason or type(exc).__name__)


def _message(exc: Exception) -> str:
    err = getattr(exc, "error", None)
    return _first_line(str(getattr(err, "message", None) or exc))


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:240]


def _dig_str(body: Any, *keys: str) -> str:
    cur = body
    for k in keys:
        if not isinstance(cur, dict) or k not in cur:
            raise _ShapeError(f"missing {'.'.join(keys)}")
        cur = cur[k]
    if not isinstance(cur, str):
        raise _ShapeError(f"{'.'.join(keys)} is {type(cur).__name__}, expected a string")
    return cur


def _parse_list(body: Any, model: type[M]) -> list[M]:
    if not isinstance(body, dict):
        raise _ShapeError(f"body is {type(body).__name__}, expected an object with 'value'")
    try:
        items = _ValueList.model_validate(body).value
        return [model.model_validate(item) for item in items]
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise _ShapeError(f"{model.__name__}: {where or 'value'}: {first.get('msg')}") from None
