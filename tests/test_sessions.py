"""Long-lived TCP sessions (probes.sessions) in throwaway namespaces: a short outage is a
stall the session survives, a long one breaks it by its user timeout, a refused one never
opens. The lab's own session drills are in tests/test_session_drills.py."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

from core.record import SessionEnd
from probes.netns import Testbed
from probes.sessions import SessionProbe, SessionTarget

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
