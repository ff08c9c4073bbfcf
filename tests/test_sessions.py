"""Long-lived TCP sessions (probes.sessions) in throwaway namespaces: a short outage is a
stall the session survives, a long one breaks it by its user timeout, a refused one never
opens; where a break is counted; the firewall's rules. The lab's own session drills are in tests/test_session_drills.py."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator

import pytest
from pydantic import ValidationError
from testbed import Testbed

from erdrill.core.config import parse_drill_config
from erdrill.core.errors import ConfigError
from erdrill.core.paths import PathKind
from erdrill.core.record import DrillRecord, SessionEnd, SessionResult
from erdrill.core.settings import DrillOptions
from erdrill.drill.sessions import phase_of
from erdrill.lab.firewall import Firewall, dropped, install, nft_script
from erdrill.probes.sessions import SessionProbe, SessionTarget

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="builds network namespaces")
ECHO_PORT = 8450


@pytest.fixture(scope="module")
def testbed() -> Iterator[Testbed]:
    bed = Testbed(f"erdt-s{os.getpid() % 10000}")
    try:
        yield bed.build()
    finally:
        bed.destroy()


def probe(bed: Testbed, port: int = ECHO_PORT, timeout_s: float = 3.0) -> SessionProbe:
    target = SessionTarget(bed.SERVER, port, "srv", server_namespace=bed.srv)
    return SessionProbe([target], 2, namespace=bed.cli, interval_ms=20, timeout_s=timeout_s)


def test_sessions_survive_a_short_outage_with_a_stall(testbed: Testbed) -> None:
    with probe(testbed) as sessions:
        assert sessions.opened == [True, True]
        time.sleep(0.3)
        testbed.link(up=False)
        time.sleep(0.3)
        testbed.link(up=True)
        time.sleep(2.0)  # TCP's retransmission backoff: the stall outlasts the outage
    results = sessions.results
    assert [r.name for r in results] == ["srv#1", "srv#2"]
    for r in results:
        assert r.end is SessionEnd.SURVIVED and r.survived, r
        assert r.messages_echoed == r.messages_sent > 20
        assert r.bytes_received == r.bytes_sent == 16 * r.messages_sent
        assert r.stall_ms is not None and r.stall_ms >= 250.0  # about the 300 ms outage
        assert r.stall_from is not None and r.opened_at is not None


def test_a_longer_outage_breaks_them_by_the_user_timeout(testbed: Testbed) -> None:
    sessions = probe(testbed, timeout_s=0.5).start()
    try:
        time.sleep(0.2)
        testbed.link(up=False)
        time.sleep(1.5)
    finally:
        testbed.link(up=True)
        results = sessions.stop()
    for r in results:
        assert r.end is SessionEnd.TIMEOUT and not r.survived, r
        assert "ETIMEDOUT" in r.reason
        assert r.broken_at is not None and r.stall_ms is not None
        assert r.messages_echoed < r.messages_sent


def test_a_refused_session_never_opens(testbed: Testbed) -> None:
    target = SessionTarget(testbed.SERVER, testbed.closed_port, "closed")
    with SessionProbe([target], 1, namespace=testbed.cli, timeout_s=1.0) as sessions:
        assert sessions.opened == [False]
    (r,) = sessions.results
    assert r.end is SessionEnd.NOT_OPENED and "ECONNREFUSED" in r.reason
    assert r.stall_ms is None and r.messages_sent == 0


def _result(
    end: str, stall_from: float | None = None, broken_at: float | None = None
) -> SessionResult:
    return SessionResult(
        name="w#1",
        address="10.1.1.4",
        port=443,
        end=SessionEnd(end),
        interval_ms=50.0,
        stall_from=stall_from,
        broken_at=broken_at,
    )


def test_a_break_belongs_to_the_phase_its_stall_began_in() -> None:
    fault, restore = 100.0, 110.0
    assert phase_of(_result("survived"), fault, restore) is None
    assert phase_of(_result("not-opened"), fault, restore) == "steady-state"
    assert phase_of(_result("reset", 90.0, 95.0), fault, restore) == "steady-state"
    assert phase_of(_result("timeout", 100.2, 103.2), fault, restore) == "failover"
    assert phase_of(_result("timeout", 111.0, 114.0), fault, restore) == "failback"
    assert phase_of(_result("closed", None, 105.0), fault, None) == "failover"
    assert phase_of(_result("reset", None, 105.0), None, None) == "steady-state"


def test_the_firewall_loads_with_a_zone_per_path_and_is_off_by_default() -> None:
    script = nft_script({"er0": PathKind.EXPRESSROUTE, "ipsec0": PathKind.VPN}, "reset")
    assert 'oifname { "er0" } ct mark != 1 counter name "zone_change" reject with tcp reset' in (
        script
    )
    assert 'iifname { "ipsec0" } ct mark != 2' in script
    ns = f"erdt-fw{os.getpid() % 10000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        zones = {"er0": PathKind.EXPRESSROUTE, "ipsec0": PathKind.VPN, "lan": PathKind.NONE}
        install(ns, zones, Firewall())
        assert dropped(ns) == {}  # off: no table
        install(ns, zones, Firewall(stateful=True, on_mismatch="reset"))
        install(ns, zones, Firewall(stateful=True))  # again: replaced, not doubled
        assert dropped(ns) == {"no_state": 0, "zone_change": 0}
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


def test_sessions_are_on_for_the_lab_and_off_for_azure_unless_configured() -> None:
    lab = DrillOptions.from_config(parse_drill_config(""), "lab").settings
    azure = DrillOptions.from_config(parse_drill_config(""), "azure").settings
    assert (lab.sessions_per_target("lab"), azure.sessions_per_target("azure")) == (2, 0)
    assert (lab.session_timeout_for("lab"), azure.session_timeout_for("azure")) == (3.0, 30.0)
    text = "[probe]\nsessions = 1\nsession_port = 7\nsession_timeout_s = 12.5\n"
    configured = DrillOptions.from_config(parse_drill_config(text), "azure").settings
    assert configured.sessions_per_target("azure") == 1 and configured.session_port == 7
    assert configured.session_timeout_for("azure") == 12.5
    with pytest.raises(ConfigError, match="sessions"):
        parse_drill_config("[probe]\nsessions = -1\n")


def test_the_record_validates_session_results_on_assignment() -> None:
    rec = DrillRecord(run_id="r", target="lab", started_at="2026-12-02T00:00:00+00:00")
    rec.sessions = [_result("reset").model_dump()]  # type: ignore[list-item]
    assert isinstance(rec.sessions[0], SessionResult) and rec.sessions[0].end is SessionEnd.RESET
    with pytest.raises(ValidationError):
        rec.sessions = [{"name": "w#1"}]  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        rec.sessions[0].end = "vanished"  # type: ignore[assignment]
    assert DrillRecord.model_validate_json(rec.to_json()).sessions == rec.sessions


def test_an_rst_from_the_path_breaks_them_as_reset(testbed: Testbed) -> None:
    target = SessionTarget(testbed.FAR, ECHO_PORT, "far", server_namespace=testbed.far)
    reject = (
        "table inet erdt_reject {\n  chain forward {\n"
        "    type filter hook forward priority filter; policy accept;\n"
        f"    tcp dport {ECHO_PORT} reject with tcp reset\n  }}\n}}\n"
    )
    nft = ["ip", "netns", "exec", testbed.mid, "nft", "-f", "-"]
    with SessionProbe([target], 1, namespace=testbed.cli, interval_ms=20, timeout_s=3.0) as s:
        time.sleep(0.2)
        subprocess.run(nft, input=reject, text=True, check=True)
        try:
            time.sleep(0.5)
        finally:
            subprocess.run(nft, input="delete table inet erdt_reject\n", text=True, check=True)
    (r,) = s.results
    assert r.end is SessionEnd.RESET and "ECONNRESET" in r.reason, r
    assert r.broken_at is not None and r.messages_echoed > 0
