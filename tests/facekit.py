"""Helpers for tests against the lab's Azure face (as labkit.py is for labs)."""

from __future__ import annotations

from collections.abc import Callable

import requests

from erdrill.armface import Server
from erdrill.core.outcomes import outcome_of
from erdrill.core.paths import ON_EXPRESSROUTE, PathPair
from erdrill.core.record import DrillRecord
from erdrill.drill.engine import Drill

# A drill config for the face; format with method (the fault method) and timeout (seconds).
CONFIG = """
[target]
kind = "azure"

[azure]
subscription_id = "00000000-0000-4000-8000-00000000e7d1"
resource_group = "erdrill-lab"
circuit = "er-circuit"
er_gateway = "er-gateway"
vpn_gateway = "vpn-gateway"
vpn_connection = "vpn-connection"
nic = "workload-nic"
onprem_prefixes = ["10.1.0.0/16"]
arm_endpoint = "lab"
fault_method = "{method}"
peering_location = "lab-location"
poll_interval_s = 1
operation_timeout_s = {timeout}
retry_attempts = 3

[azure.fault_commands]
inject = "true"
undo = "true"

[[azure.circuits]]
name = "er-circuit"
peering_location = "lab-location"

[[azure.circuits]]
name = "er-circuit-2"
peering_location = "lab-location-2"
"""


def face_session(face: Server) -> requests.Session:
    """A requests session that trusts the face's CA and sends its token."""
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    s.verify = str(face.ca_bundle)
    s.headers["Authorization"] = f"Bearer {face.token}"
    return s


def one_line(exc: BaseException) -> str:
    """The error's text, which must be one line."""
    text = str(exc)
    assert "\n" not in text
    return text


def run_plan(
    drill: Drill,
    fault: str,
    during: PathPair,
    *,
    ready: Callable[[], None] | None = None,
    check: Callable[[], None] | None = None,
) -> DrillRecord:
    """The documented test plan driven by hand: begin (then `ready`), probe, inject `fault`,
    hold `during` (then `check`), restore, fail back to ExpressRoute, measure and close."""
    drill.begin()
    if ready is not None:
        ready()
    drill.start_probes()
    drill.inject(fault)
    drill.await_paths(during, 20.0, "failover")
    drill.check_holds(during, 2.0)
    if check is not None:
        check()
    drill.restore()
    drill.await_paths(ON_EXPRESSROUTE, 60.0, "failback")
    drill.finish_probes()
    drill.close(outcome_of(None))
    return drill.record
