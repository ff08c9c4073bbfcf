"""Microsoft's circuit link failover test as a fault method: `circuit-link-failover`.

`[azure.link_failover]` names the link (Primary, Secondary) and the category
(BgpDisconnect: the link's BGP session is shut; ASPathPrepend: the link's MSEE prepends
its AS, as before maintenance). The test moves traffic between the two links of one
circuit, never to the VPN: the drill expects ExpressRoute throughout, on the other link.

Inject: read the circuit's link failover test details (a test already running is
refused), then `express_route_circuits.begin_start_circuit_link_failover_test`. Undo:
read the details again; if the test still runs, `begin_stop_circuit_link_failover_test`
with wasSimulationSuccessful and isVerified saying whether the return path was still on
ExpressRoute, then read the details once more (the test must have stopped: an unstopped
test runs until stopped). A test that no longer runs needs no stop (journal repair of a
drill killed before its start took effect, or after its stop). The journal keeps the
circuit's and the ER gateway's full resource IDs and the link and category, so a repair
stops exactly the test that was started, whatever the config says now.

While this method is configured, the target's route snapshots add the circuit's routes
table per device path (`circuit:<name>/primary`, `/secondary`): the link that lost the
on-premises prefixes shows there.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from erdrill.core.errors import TargetError
from erdrill.core.fault_methods import METHOD_NAMES, METHODS
from erdrill.core.paths import PathKind
from erdrill.core.routes import RouteEntry, RouteTable
from erdrill.probes.pathid import HopSignature
from erdrill.targets.azure.arm import raw_json
from erdrill.targets.azure.errors import ShapeError
from erdrill.targets.azure.faults import FAULTS, AzureFault
from erdrill.targets.azure.reads import ControlPlane, object_list

__all__ = [
    "ALL_DISRUPTIVE",
    "ALL_FAULTS",
    "ALL_METHODS",
    "CircuitLinkFailover",
    "circuit_route_tables",
    "link_of",
    "link_tests",
    "peering_links",
    "with_link_hops",
]

RUNNING = ("Starting", "Running", "Stopping")
DEVICE_PATHS = ("Primary", "Secondary")


def link_tests(reads: ControlPlane) -> list[dict[str, Any]]:
    """The circuit's link failover tests (begin_get_circuit_link_failover_all_tests_details)."""
    c, cfg = reads.arm.client, reads.cfg

    def run() -> list[dict[str, Any]]:
        poller = c.express_route_circuits.begin_get_circuit_link_failover_all_tests_details(
            cfg.resource_group,
            cfg.circuit,
            failover_test_type="LinkFailover",
            fetch_latest=False,
            cls=raw_json,
        )
        body = reads.arm.lro("link failover details", poller)
        return object_list("link failover test details", body)

    detail = f"circuit {cfg.circuit} (begin_get_circuit_link_failover_all_tests_details)"
    return reads.arm.call("link failover details", detail, run) or []


def circuit_route_tables(reads: ControlPlane, taken_at: float) -> list[RouteTable]:
    """The circuit's routes table on each device path, every entry ExpressRoute."""
    c, cfg = reads.arm.client, reads.cfg
    tables = []
    for path in DEVICE_PATHS:

        def run(path: str = path) -> list[dict[str, Any]]:
            poller = c.express_route_circuits.begin_list_routes_table(
                cfg.resource_group, cfg.circuit, cfg.peering, path, cls=raw_json
            )
            body = reads.arm.lro("circuit routes table", poller)
            value = body.get("value") if isinstance(body, dict) else None
            if not isinstance(value, list):
                raise ShapeError(f"routes table {path}: expected an object with 'value'")
            return [r for r in value if isinstance(r, dict)]

        detail = f"circuit {cfg.circuit} peering {cfg.peering} device path {path}"
        routes = reads.arm.call("circuit routes table", detail, run) or []
        link = path.lower()
        entries = [
            RouteEntry(
                prefix=str(r.get("network", "")),
                next_hop=str(r.get("nextHop", "")),
                path=PathKind.EXPRESSROUTE,
                source=f"bgp ({link})",
                as_path=str(r.get("path", "")),
            )
            for r in routes
        ]
        entries.sort(key=lambda e: e.prefix)
        tables.append(RouteTable(f"circuit:{cfg.circuit}/{link}", "azure", taken_at, entries))
    return tables


def peering_links(reads: ControlPlane) -> dict[str, frozenset[str]]:
    """Each link's peering addresses (the /30 of primaryPeerAddressPrefix and
    secondaryPeerAddressPrefix): a traceroute from on-premises through a link answers from
    that link's MSEE address in it."""
    props = reads.peering_body().get("properties") or {}
    out = {}
    for link in DEVICE_PATHS:
        prefix = props.get(f"{link.lower()}PeerAddressPrefix")
        if isinstance(prefix, str) and prefix:
            try:
                net = ipaddress.ip_network(prefix, strict=False)
            except ValueError:
                continue
            out[link.lower()] = frozenset(str(a) for a in net.hosts())
    return out


def with_link_hops(sig: HopSignature | None, links: Mapping[str, frozenset[str]]) -> HopSignature:
    """The ExpressRoute signature that also knows both links' addresses (they win over counts:
    the other link may be a hop longer, through the second CE)."""
    addresses = frozenset().union(*links.values()) if links else frozenset()
    if sig is None:
        return HopSignature(addresses=addresses)
    return HopSignature(addresses=sig.addresses | addresses, hops=sig.hops)


def link_of(hops: Sequence[str | None], links: Mapping[str, frozenset[str]]) -> str:
    """The link (primary, secondary) whose peering address a traceroute passed, else ""."""
    seen = {h for h in hops if h}
    found = [link for link, addresses in links.items() if addresses & seen]
    return found[0] if len(found) == 1 else ""


@dataclass
class CircuitLinkFailover(AzureFault):
    """Start Microsoft's circuit link failover test on one link; stop it on undo."""

    name: ClassVar[str] = "circuit-link-failover"  # the other link of the circuit carries on

    link: str = ""
    category: str = ""

    def __post_init__(self) -> None:
        lf = self.reads.cfg.link_failover
        self.link = self.link or lf.link
        self.category = self.category or lf.category

    def journal_entry(self) -> dict[str, str]:
        return {**super().journal_entry(), "link_type": self.link, "category": self.category}

    def adopt(self, undo: Mapping[str, Any]) -> None:
        """Journal repair: stop the test the dead drill started, not the config's."""
        self.link = str(undo.get("link_type") or self.link)
        self.category = str(undo.get("category") or self.category)

    def vary(self, variant: str) -> None:
        """ "<link>:<category>" for this drill (the feature's, not [azure.link_failover]'s)."""
        link, _, category = variant.partition(":")
        if link not in DEVICE_PATHS or category not in ("BgpDisconnect", "ASPathPrepend"):
            raise TargetError(
                f"azure: circuit link failover variant {variant!r}: use Primary or Secondary "
                "and BgpDisconnect or ASPathPrepend (like Primary:ASPathPrepend)"
            )
        self.link, self.category = link, category

    def _what(self) -> str:
        return f"{self.category} on the {self.link} link of circuit {self.reads.cfg.circuit}"

    def _running(self) -> list[dict[str, Any]]:
        return [t for t in link_tests(self.reads) if t.get("status") in RUNNING]

    def _inject(self) -> None:
        arm, cfg = self.arm, self.reads.cfg
        running = self._running()
        if running:
            t = running[0]
            raise TargetError(
                f"azure: a circuit link failover test already runs on circuit {cfg.circuit} "
                f"({t.get('circuitTestCategory')} on {t.get('linkType')}, since "
                f"{t.get('startTime') or '?'}); stop it first"
            )
        c = arm.client
        arm.call(
            "link failover start",
            f"POST {cfg.circuit}/startCircuitLinkFailoverTest linkType={self.link} "
            f"circuitTestCategory={self.category} (begin_start_circuit_link_failover_test)",
            lambda: arm.lro(
                "link failover start",
                c.express_route_circuits.begin_start_circuit_link_failover_test(
                    cfg.resource_group,
                    cfg.circuit,
                    link_type=self.link,
                    circuit_test_category=self.category,
                    cls=raw_json,
                ),
            ),
            write=True,
        )

    def _mine(self, tests: list[dict[str, Any]]) -> bool:
        return any(
            t.get("linkType") == self.link and t.get("circuitTestCategory") == self.category
            for t in tests
        )

    def _undo(self) -> None:
        arm, cfg = self.arm, self.reads.cfg
        if not arm.plan and not self._mine(self._running()):
            arm.record("link failover stop", True, f"{self._what()}: not running, no stop", False)
            return
        held = arm.plan or self.reads.return_path() is PathKind.EXPRESSROUTE
        params = {
            "linkType": self.link,
            "circuitTestCategory": self.category,
            "wasSimulationSuccessful": held,
            "isVerified": held,
        }
        c = arm.client
        arm.call(
            "link failover stop",
            f"POST {cfg.circuit}/stopCircuitLinkFailoverTest linkType={self.link} "
            f"circuitTestCategory={self.category} wasSimulationSuccessful={held} "
            "(begin_stop_circuit_link_failover_test)",
            lambda: arm.lro(
                "link failover stop",
                c.express_route_circuits.begin_stop_circuit_link_failover_test(
                    cfg.resource_group, cfg.circuit, params, cls=raw_json
                ),
            ),
            write=True,
        )
        if not arm.plan and self._mine(self._running()):
            raise TargetError(
                f"azure: the circuit link failover test ({self._what()}) still runs after the "
                "stop; stop it by hand (it runs until stopped)"
            )


ALL_FAULTS: dict[str, type[AzureFault]] = {
    name: {**FAULTS, CircuitLinkFailover.name: CircuitLinkFailover}[name] for name in METHOD_NAMES
}  # every method of the registry has its class (a missing one fails the import)
ALL_METHODS = METHOD_NAMES
ALL_DISRUPTIVE = frozenset(m.name for m in METHODS.values() if m.disruptive)
