"""The face's circuit links: route tables per device path and Microsoft's circuit link
failover test (API 2025-07-01), all read from the lab.

Mapping (lab -> ARM), for the first circuit of the topology:
- `ExpressRouteCircuits_ListRoutesTable` with devicePath Primary / Secondary: the BGP
  routes of that link's MSEE (BIRD `show route all`), as network, nextHop, path.
- `ExpressRouteCircuits_StartCircuitLinkFailoverTest` (linkType, circuitTestCategory;
  the 2025-07-01 spec calls the category circuitMaintenanceCategory: both are read):
  BgpDisconnect on Primary injects `primary-link-down`, on Secondary
  `secondary-link-down`; ASPathPrepend injects `msee-maintenance` (Primary) or
  `secondary-msee-maintenance` (Secondary). BgpDisconnect takes the carrier variant, not
  `-silent`: Microsoft's test shuts the link's BGP session, which both ends see at once
  (as BIRD's `check link` sees a carrier loss); the silent variant is a failure nobody
  announces, found only by BFD or the hold timer.
- `..._StopCircuitLinkFailoverTest` undoes that fault; `..._GetCircuitLinkFailover*Details`
  answer from the tests started here and from the lab's active faults (a face started
  after a kill still sees the test the dead drill left running), with each link's BGP
  state (its MSEE's session to the CE) and the routes before and during the test.

Times are written both ways (startTime and startTimeUtc, checkTime and checkTimeUtc):
the 2025-07-01 spec and the 2026-03-01 SDK name them differently.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Protocol

from erdrill.armface.backend import Call, Reply, ResourceNames, error_reply
from erdrill.lab.plan import ErLink, plan

__all__ = ["CATEGORIES", "LINKS", "LINK_FAULTS", "CircuitLinks", "LinkLab"]

LINKS = ("Primary", "Secondary")
CATEGORIES = ("BgpDisconnect", "ASPathPrepend")
LINK_FAULTS = {
    ("Primary", "BgpDisconnect"): "primary-link-down",
    ("Secondary", "BgpDisconnect"): "secondary-link-down",
    ("Primary", "ASPathPrepend"): "msee-maintenance",
    ("Secondary", "ASPathPrepend"): "secondary-msee-maintenance",
}
RUNNING = ("Starting", "Running")
FACE = "azure-face"  # who keeps the lab faults the face injects (their journal entries)


class LinkLab(Protocol):
    """What the circuit links need from lab.lab.Lab."""

    topology: Any

    def birdc(self, node: str, command: str) -> str: ...
    def bgp_sessions(self) -> dict[str, str]: ...
    def active_faults(self) -> list[str]: ...
    def inject(self, name: str, *, by: str = ...) -> object: ...
    def undo(self, kind: str) -> None: ...


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _category(call: Call) -> str:
    q = call.query
    return q.get("circuitTestCategory") or q.get("circuitMaintenanceCategory") or ""


def _bad(parameter: str, value: str, allowed: tuple[str, ...]) -> Reply:
    return error_reply(
        400,
        "InvalidParameter",
        f"{parameter} {value!r} is not valid; use one of {', '.join(allowed)}.",
    )


class CircuitLinks:
    """ARM handlers for a backend over a lab (mixed into armface.lab_backend.LabBackend)."""

    lab: LinkLab
    names: ResourceNames
    _link_tests: dict[str, dict[str, Any]]  # test GUID -> details (set by the backend)

    # --- lab facts --------------------------------------------------------------------
    def _links(self) -> dict[str, ErLink]:
        links = plan(self.lab.topology).links
        first = links[0].circuit
        return {
            link.role.capitalize(): link
            for link in links
            if link.circuit == first and link.role.capitalize() in LINKS
        }

    def bird_routes(self, node: str) -> list[Any]:
        """A node's BIRD routes (armface.lab_backend.BirdRoute: prefix, next_hop, as_path, bgp)."""
        raise NotImplementedError

    def circuit_routes(self, device_path: str) -> list[dict[str, Any]]:
        """The BGP routes of the MSEE behind a device path (primary, secondary)."""
        link = self._links().get(device_path.capitalize())
        if link is None:
            return []
        out = []
        for r in self.bird_routes(link.msee):
            if r.bgp:
                path = " ".join(r.as_path)
                out.append(
                    {"network": r.prefix, "nextHop": r.next_hop, "locPrf": "", "weight": 0}
                    | {"path": path}
                )
        return out

    def link_bgp(self) -> list[dict[str, Any]]:
        """Each link's BGP state: its MSEE's session to the customer edge."""
        sessions, now = self.lab.bgp_sessions(), _now()
        return [
            {
                "type": "IPv4",
                "bgpStatusType": "IPv4",
                "link": name,
                "status": "Connected"
                if sessions.get(f"{link.msee}/ce") == "established"
                else "Disconnected",
                "checkTime": now,
                "checkTimeUtc": now,
            }
            for name, link in self._links().items()
        ]

    def _tests(self) -> list[dict[str, Any]]:
        """The tests started here, and one Running for every link fault the lab still has."""
        active = set(self.lab.active_faults())
        running = {(t["linkType"], t["circuitTestCategory"]) for t in self._running()}
        for (link, category), kind in LINK_FAULTS.items():
            if kind in active and (link, category) not in running:
                self._record_test(link, category, start="")
        return list(self._link_tests.values())

    def _running(self) -> list[dict[str, Any]]:
        return [t for t in self._link_tests.values() if t["status"] in RUNNING]

    def _record_test(self, link: str, category: str, start: str) -> dict[str, Any]:
        guid = str(uuid.uuid4())
        test = {
            "status": "Running",
            "startTime": start,
            "startTimeUtc": start,
            "endTime": "",
            "endTimeUtc": "",
            "testGuid": guid,
            "testType": "LinkFailover",
            "issues": [],
            "circuitTestCategory": category,
            "linkType": link,
            "routesBefore": self._onprem_routes(),
        }
        self._link_tests[guid] = test
        return test

    def _onprem_routes(self) -> dict[str, dict[str, str]]:
        """prefix -> link -> AS path, for the routes each MSEE learned from the CE."""
        asn = str(self.lab.topology.onprem.asn)
        found: dict[str, dict[str, str]] = {}
        for link in self._links():
            for r in self.circuit_routes(link):
                if r["path"].split()[:1] == [asn]:
                    found.setdefault(r["network"], {})[link] = r["path"]
        return found

    # --- checks -----------------------------------------------------------------------
    def _circuit_missing(self, call: Call) -> Reply | None:
        name = call.params.get("circuitName", "")
        if name != self.names.circuit:
            return error_reply(
                404,
                "ResourceNotFound",
                f"The Resource 'Microsoft.Network/expressRouteCircuits/{name}' under resource "
                f"group '{self.names.resource_group}' was not found.",
            )
        return None

    def _link_args(self, call: Call, link: str, category: str) -> Reply | None:
        missing = self._circuit_missing(call)
        if missing is not None:
            return missing
        if link not in LINKS:
            return _bad("linkType", link, LINKS)
        if category not in CATEGORIES:
            return _bad("circuitTestCategory", category, CATEGORIES)
        if len(self._links()) < 2:
            return error_reply(
                400,
                "CircuitLinkFailoverNotSupported",
                f"Circuit '{self.names.circuit}' has one link; the test needs both.",
            )
        return None

    def _check_ExpressRouteCircuits_StartCircuitLinkFailoverTest(self, call: Call) -> Reply | None:
        link, category = call.query.get("linkType", ""), _category(call)
        bad = self._link_args(call, link, category)
        if bad is not None:
            return bad
        self._tests()
        if self._running():
            t = self._running()[0]
            return error_reply(
                400,
                "CircuitLinkFailoverTestAlreadyRunning",
                f"A {t['circuitTestCategory']} test on the {t['linkType']} link of circuit "
                f"'{self.names.circuit}' is running (test {t['testGuid']}); stop it first.",
            )
        return None

    def _ExpressRouteCircuits_StartCircuitLinkFailoverTest(self, call: Call) -> Reply:
        link, category = call.query.get("linkType", ""), _category(call)
        test = self._record_test(link, category, start=_now())
        try:
            self.lab.inject(LINK_FAULTS[(link, category)], by=FACE)
        except Exception:
            test["status"] = "StartFailed"
            raise
        return Reply(200, f"Circuit link failover test {test['testGuid']} started")

    def _stop_args(self, call: Call) -> tuple[str, str]:
        body = call.body if isinstance(call.body, dict) else {}
        return str(body.get("linkType", "")), str(body.get("circuitTestCategory", ""))

    def _check_ExpressRouteCircuits_StopCircuitLinkFailoverTest(self, call: Call) -> Reply | None:
        link, category = self._stop_args(call)
        bad = self._link_args(call, link, category)
        if bad is not None:
            return bad
        self._tests()
        if not any(
            t["linkType"] == link and t["circuitTestCategory"] == category for t in self._running()
        ):
            return error_reply(
                400,
                "NoCircuitLinkFailoverTestRunning",
                f"No {category} test runs on the {link} link of circuit '{self.names.circuit}'.",
            )
        return None

    def _ExpressRouteCircuits_StopCircuitLinkFailoverTest(self, call: Call) -> Reply:
        link, category = self._stop_args(call)
        body = call.body if isinstance(call.body, dict) else {}
        kind = LINK_FAULTS[(link, category)]
        if kind in self.lab.active_faults():
            self.lab.undo(kind)
        end = _now()
        for t in self._running():
            if t["linkType"] == link and t["circuitTestCategory"] == category:
                t.update(status="Completed", endTime=end, endTimeUtc=end)
                t["wasSimulationSuccessful"] = bool(body.get("wasSimulationSuccessful"))
                t["isSimulationVerified"] = bool(body.get("isVerified"))
        return Reply(200, "Circuit link failover test stopped")

    # --- details ----------------------------------------------------------------------
    @staticmethod
    def _public(test: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in test.items() if k != "routesBefore"}

    def _ExpressRouteCircuits_GetCircuitLinkFailoverAllTestsDetails(self, call: Call) -> Reply:
        missing = self._circuit_missing(call)
        if missing is not None:
            return missing
        wanted = call.query.get("failoverTestType", "")
        if wanted not in ("", "All", "LinkFailover"):
            return Reply(200, [])
        bgp = self.link_bgp()
        tests = [self._public(t) | {"bgpStatus": bgp} for t in self._tests()]
        if call.query.get("fetchLatest", "").lower() == "true" and tests:
            tests = tests[-1:]
        return Reply(200, tests)

    def _ExpressRouteCircuits_GetCircuitLinkFailoverSingleTestDetails(self, call: Call) -> Reply:
        missing = self._circuit_missing(call)
        if missing is not None:
            return missing
        self._tests()
        guid = call.query.get("failoverTestId", "")
        test = self._link_tests.get(guid)
        if test is None:
            return error_reply(
                404, "FailoverTestNotFound", f"No link failover test {guid!r} on this circuit."
            )
        during = self._onprem_routes() if test["status"] in RUNNING else {}
        before: dict[str, dict[str, str]] = test["routesBefore"]
        both = {p for p, links in before.items() if len(links) > 1}

        def listed(routes: dict[str, dict[str, str]], redundant: bool) -> list[dict[str, str]]:
            return [
                {
                    "route": prefix,
                    "nextHop": "",
                    "primaryASPath": links.get("Primary", ""),
                    "secondaryASPath": links.get("Secondary", ""),
                }
                for prefix, links in sorted(routes.items())
                if (prefix in both) == redundant
            ]

        detail = {
            k: test.get(k)
            for k in ("status", "linkType", "circuitTestCategory", "startTime", "endTime")
        }
        detail |= {
            "startTimeUtc": test["startTimeUtc"],
            "endTimeUtc": test["endTimeUtc"],
            "wasSimulationSuccessful": test.get("wasSimulationSuccessful", False),
            "isSimulationVerified": test.get("isSimulationVerified", False),
            "redundantRoutes": {
                "beforeSimulation": listed(before, True),
                "duringSimulation": listed(during, True),
            },
            "nonRedundantRoutes": {
                "beforeSimulation": listed(before, False),
                "duringSimulation": listed(during, False),
            },
            "bgpStatus": self.link_bgp(),
        }
        return Reply(200, [detail])

    # --- routes table -------------------------------------------------------
    def _ExpressRouteCircuits_ListRoutesTable(self, call: Call) -> Reply:
        missing = self._circuit_missing(call)
        if missing is not None:
            return missing
        if call.params.get("peeringName") != self.names.peering:
            return error_reply(
                404, "ResourceNotFound", f"Peering {call.params.get('peeringName')!r} not found."
            )
        path = call.params.get("devicePath", "")
        if path.capitalize() not in LINKS:
            return _bad("devicePath", path, LINKS)
        return Reply(200, {"value": self.circuit_routes(path)})
