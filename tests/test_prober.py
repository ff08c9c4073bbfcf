"""The prober, its capture matching, path identification and the lab guard.

Live tests probe only inside throwaway namespaces (`erdt-prb-*`) built here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from testbed import Testbed

from erdrill.cli import main
from erdrill.core.errors import ProbeRefused
from erdrill.core.paths import PathKind
from erdrill.probes.capture import Flow, FlowRecord, Matcher, build_samples
from erdrill.probes.netns import DEFAULT_LAB_NETWORKS, check_targets_allowed
from erdrill.probes.pathid import (
    HopSignature,
    classify_forward_path,
    classify_return_path,
    return_path_of,
    traceroute,
)
from erdrill.probes.prober import Prober, count_reordered
from erdrill.probes.samples import Outcome, Protocol, Sample
from erdrill.probes.target import ProbeTarget

ROOT = Path(__file__).resolve().parents[1]
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="builds network namespaces")


@pytest.fixture(scope="module")
def testbed() -> Iterator[Testbed]:
    bed = Testbed("erdt-prb")
    try:
        yield bed.build()
    finally:
        bed.destroy()


def run(prober: Prober, seconds: float) -> list[Sample]:
    with prober:
        time.sleep(seconds)
    return prober.samples


def outcomes(samples: list[Sample]) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {}
    for s in samples:
        counts[s.outcome] = counts.get(s.outcome, 0) + 1
    return counts


# --- live, in the testbed -------------------------------------------------------------------


@needs_root
def test_steady_traffic_at_1000_per_second_loses_nothing(testbed: Testbed) -> None:
    targets = [
        ProbeTarget(testbed.SERVER, tcp_port=testbed.open_port),
        ProbeTarget(testbed.FAR, tcp_port=testbed.closed_port),
    ]
    prober = Prober(targets, rate=250, namespace=testbed.cli)
    with prober:
        time.sleep(1.0)
        midway = prober.samples_since(0.0)
        since = time.time()
        time.sleep(0.6)
        recent = prober.samples_since(since)
        time.sleep(0.4)
    samples = prober.samples
    assert len(samples) >= 1000
    assert outcomes(samples) == {Outcome.REPLY: len(samples)}
    assert all(s.precise and s.rtt_ms is not None and s.rtt_ms >= 0 for s in samples)
    assert midway and all(s.outcome is Outcome.REPLY for s in midway)
    assert 0.4 * 1000 <= len(recent) <= 0.7 * 1000 and min(s.sent for s in recent) >= since
    assert prober.snapshot().sent == len(samples)


@needs_root
def test_link_down_for_300_ms_shows_as_a_gap_of_that_length(testbed: Testbed) -> None:
    rate = 500.0
    interval = 1.0 / rate
    prober = Prober(
        [ProbeTarget(testbed.SERVER, tcp_port=testbed.open_port)], rate=rate, namespace=testbed.cli
    )
    with prober:
        time.sleep(0.5)
        before_down = time.time()
        testbed.link(up=False)
        down = time.time()
        time.sleep(0.3)
        before_up = time.time()
        testbed.link(up=True)
        up = time.time()
        time.sleep(0.7)
    for protocol in (Protocol.ICMP, Protocol.TCP):
        flow = [s for s in prober.samples if s.protocol is protocol]
        gap = longest_gap(flow)
        assert before_up - down - 2 * interval <= gap <= up - before_down + 2 * interval
        lost = sum(1 for s in flow if s.outcome is not Outcome.REPLY)
        assert abs(lost * interval - gap) <= 3 * interval


def longest_gap(flow: list[Sample]) -> float:
    """Seconds between the send stamps of the replies around the longest loss run."""
    last_reply, longest = None, 0.0
    for s in sorted(flow, key=lambda x: x.seq):
        if s.outcome is Outcome.REPLY:
            if last_reply is not None:
                longest = max(longest, s.sent - last_reply)
            last_reply = s.sent
    return longest


@needs_root
def test_tcp_rst_from_a_closed_port_counts_as_reachable(testbed: Testbed) -> None:
    target = ProbeTarget(testbed.FAR, tcp_port=testbed.closed_port)
    samples = run(Prober([target], rate=200, protocols=("tcp",), namespace=testbed.cli), 0.5)
    assert samples and outcomes(samples) == {Outcome.REPLY: len(samples)}


@needs_root
def test_icmp_unreachable_is_recorded(testbed: Testbed) -> None:
    target = ProbeTarget(testbed.NOWHERE, tcp_port=80)
    samples = run(Prober([target], rate=100, namespace=testbed.cli, late_ms=200), 0.5)
    counts = outcomes(samples)
    assert Outcome.REPLY not in counts
    # The router rate-limits its unreachables (ip_error: ~1/s, burst 5): the rest are lost.
    assert counts.get(Outcome.UNREACHABLE, 0) >= 1
    assert {s.protocol for s in samples if s.outcome is Outcome.UNREACHABLE} == {
        Protocol.ICMP,
        Protocol.TCP,
    }


@needs_root
def test_return_path_from_reply_ttl(testbed: Testbed) -> None:
    signatures = {"expressroute": 64, "vpn": 63}  # direct vs one routed hop in the testbed
    near = ProbeTarget(testbed.SERVER, tcp_port=testbed.open_port, ttl_signatures=signatures)
    far = ProbeTarget(testbed.FAR, tcp_port=testbed.closed_port, ttl_signatures=signatures)
    samples = run(Prober([near, far], rate=100, namespace=testbed.cli), 0.5)
    assert return_path_of(samples, near, "start") is PathKind.EXPRESSROUTE
    assert return_path_of(samples, far, "end") is PathKind.VPN


@needs_root
def test_forward_path_from_traceroute(testbed: Testbed) -> None:
    hops = traceroute(testbed.FAR, namespace=testbed.cli, max_hops=4)
    assert hops == ["10.99.1.1", testbed.FAR]
    by_count = {"expressroute": HopSignature(hops=1), "vpn": HopSignature(hops=2)}
    assert classify_forward_path(hops, by_count) is PathKind.VPN
    by_address = {"expressroute": HopSignature(addresses=frozenset({"10.99.1.1"}))}
    assert classify_forward_path(hops, by_address) is PathKind.EXPRESSROUTE


@needs_root
def test_unprivileged_fallback_warns_once_and_marks_samples_imprecise(testbed: Testbed) -> None:
    script = f"""
import json, time, warnings
from erdrill.probes.prober import Prober
from erdrill.probes.target import ProbeTarget
targets = [ProbeTarget({testbed.SERVER!r}, tcp_port={testbed.open_port}),
           ProbeTarget({testbed.FAR!r}, tcp_port={testbed.closed_port})]
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    prober = Prober(targets, rate=100)
    with prober:
        time.sleep(0.5)
print(json.dumps({{"warnings": [str(w.message) for w in caught],
                  "samples": [s.to_dict() for s in prober.samples]}}))
"""
    argv = [
        "ip",
        "netns",
        "exec",
        testbed.cli,
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        sys.executable,
        "-c",
        script,
    ]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout)
    assert len(result["warnings"]) == 1 and "CAP_NET_RAW" in result["warnings"][0]
    samples = [Sample.from_dict(d) for d in result["samples"]]
    assert len(samples) >= 50
    assert all(not s.precise and s.protocol is Protocol.TCP for s in samples)
    assert outcomes(samples) == {Outcome.REPLY: len(samples)}


@needs_root
def test_probe_command_writes_samples_and_metrics(testbed: Testbed, tmp_path: Path) -> None:
    out = tmp_path / "probe.json"
    argv = [
        "ip",
        "netns",
        "exec",
        testbed.cli,
        sys.executable,
        "-m",
        "erdrill.cli",
        "probe",
        testbed.FAR,
        "--tcp-port",
        str(testbed.closed_port),
        "--rate",
        "100",
        "--duration",
        "0.5",
        "--ttl-signature",
        "vpn=63",
        "--traceroute",
        "--json",
        str(out),
    ]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    metrics = doc["metrics"]
    assert metrics["sent"] == len(doc["samples"]) >= 50 and metrics["lost"] == 0
    assert metrics["sampling_interval_ms"] == 10.0
    assert {"outage_ms", "loss_derived_ms"} <= metrics.keys()
    assert metrics["paths"][testbed.FAR] == {"start": "vpn", "end": "vpn"}
    assert metrics["forward"]["end"][testbed.FAR]["hops"] == ["10.99.1.1", testbed.FAR]
    assert "return path" in done.stdout


# --- the lab guard ----------------------------------------------------------------------------


def test_a_target_outside_the_lab_is_refused() -> None:
    check_targets_allowed(["10.1.1.4", "192.168.10.10"], DEFAULT_LAB_NETWORKS)
    with pytest.raises(ProbeRefused, match=r"probe target 8\.8\.8\.8 is outside the lab"):
        check_targets_allowed(["10.1.1.4", "8.8.8.8"], DEFAULT_LAB_NETWORKS)
    with pytest.raises(ProbeRefused, match="outside the lab"):
        Prober([ProbeTarget("8.8.8.8")], allowed_networks=DEFAULT_LAB_NETWORKS)


def test_probe_command_refuses_a_target_outside_the_lab(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "8.8.8.8", "--lab-node", "onprem-host", "--duration", "1"]) == 2
    assert "probe target 8.8.8.8 is outside the lab" in capsys.readouterr().err


# --- matching, on crafted packets -----------------------------------------------------------

ICMP_FLOW = Flow(0, "10.99.1.3", Protocol.ICMP, ident=0x1234)
TCP_FLOW = Flow(1, "10.99.1.3", Protocol.TCP, port=443, isn=1_000_000)


def matcher() -> Matcher:
    counters = SimpleNamespace(replies=SimpleNamespace(value=0), last_reply=[0.0, 0.0])
    return Matcher([ICMP_FLOW, TCP_FLOW], counters)


def probe_packets(seq: int) -> tuple[bytes, bytes]:
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.packet import Raw

    ip = IP(src="10.99.1.2", dst="10.99.1.3")
    echo = ip / ICMP(id=0x1234, seq=seq & 0xFFFF) / Raw(seq.to_bytes(4, "big") + bytes(4))
    syn = ip / TCP(sport=TCP_FLOW.sport(seq), dport=443, seq=TCP_FLOW.tcp_seq(seq), flags="S")
    return bytes(echo), bytes(syn)


def test_replies_match_their_probes() -> None:
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.packet import Raw

    m = matcher()
    for seq in range(3):
        echo, syn = probe_packets(seq)
        m.feed(echo, 10.0 + seq, True, 1)
        m.feed(syn, 10.0 + seq, True, 1)
    back = IP(src="10.99.1.3", dst="10.99.1.2", ttl=60)
    m.feed(
        bytes(back / ICMP(type=0, id=0x1234, seq=1) / Raw((1).to_bytes(4, "big"))), 11.001, False, 1
    )
    m.feed(
        bytes(
            back / TCP(sport=443, dport=TCP_FLOW.sport(0), ack=TCP_FLOW.tcp_seq(0) + 1, flags="SA")
        ),
        10.002,
        False,
        1,
    )
    m.feed(
        bytes(
            back / TCP(sport=443, dport=TCP_FLOW.sport(2), ack=TCP_FLOW.tcp_seq(2) + 1, flags="RA")
        ),
        12.7,
        False,
        1,
    )
    router = IP(src="10.99.1.1", dst="10.99.1.2", ttl=64)
    m.feed(bytes(router / ICMP(type=3, code=1) / Raw(probe_packets(1)[1][:28])), 11.003, False, 1)
    samples = build_samples([ICMP_FLOW, TCP_FLOW], m.records, [3, 3], 0.5)
    got = {(s.protocol, s.seq): (s.outcome, s.ttl) for s in samples}
    assert got == {
        (Protocol.ICMP, 0): (Outcome.LOST, None),
        (Protocol.ICMP, 1): (Outcome.REPLY, 60),
        (Protocol.ICMP, 2): (Outcome.LOST, None),
        (Protocol.TCP, 0): (Outcome.REPLY, 60),
        (Protocol.TCP, 1): (Outcome.UNREACHABLE, 64),
        (Protocol.TCP, 2): (Outcome.LATE, 60),  # 0.7 s after it was sent
    }


def test_duplicates_count_only_on_the_same_interface() -> None:
    from scapy.layers.inet import ICMP, IP
    from scapy.packet import Raw

    m = matcher()
    m.feed(probe_packets(0)[0], 1.0, True, 1)
    reply = bytes(
        IP(src="10.99.1.3", dst="10.99.1.2") / ICMP(type=0, id=0x1234, seq=0) / Raw(bytes(8))
    )
    for ifindex in (1, 2, 1):  # seen again on a bridge port: not a duplicate
        m.feed(reply, 1.001, False, ifindex)
    [sample] = build_samples([ICMP_FLOW], m.records[:1], [1], 0.5)
    assert sample.outcome is Outcome.REPLY and sample.duplicates == 1


def test_probes_the_capture_missed_fall_back_to_user_space_stamps() -> None:
    from array import array

    [sample] = build_samples([ICMP_FLOW], [FlowRecord()], [1], 0.5, [array("d", [5.0])])
    assert sample.outcome is Outcome.LOST and sample.sent == 5.0 and not sample.precise


def test_reordered_replies_are_counted() -> None:
    def reply(seq: int, received: float) -> Sample:
        return Sample("a", Protocol.ICMP, seq, seq * 0.01, received, Outcome.REPLY)

    assert count_reordered([reply(0, 1.0), reply(1, 1.3), reply(2, 1.2), reply(3, 1.4)]) == 1


def test_return_path_from_ttl_signatures() -> None:
    sig = {"expressroute": 60, "vpn": 61}
    assert classify_return_path(60, sig) is PathKind.EXPRESSROUTE
    assert classify_return_path(61, sig) is PathKind.VPN
    assert classify_return_path(59, sig) is PathKind.UNKNOWN
    assert classify_return_path(None, sig) is PathKind.UNKNOWN
