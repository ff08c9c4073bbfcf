"""Fixed-rate ICMP echo and TCP SYN probing, in child processes, with kernel timestamps.

`Prober` forks two children (inside the probe namespace when one is given): a sender that
paces pre-built packets onto a raw socket, and a capture that stamps and matches them
(`probes.capture`). Without CAP_NET_RAW it warns once and falls back to timed TCP
connect() probes from a single child (samples marked imprecise).
"""

from __future__ import annotations

import math
import os
import random
import socket
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from erdrill.core import defaults
from erdrill.core.errors import EnvironmentProblem
from erdrill.probes.capture import Flow, FlowRecord, build_samples, capture_main
from erdrill.probes.children import CTX, Counters, connect_main, reap, sender_main
from erdrill.probes.netns import (
    check_targets_allowed,
)
from erdrill.probes.samples import Outcome, Protocol, Sample
from erdrill.probes.target import ProbeTarget

__all__ = [
    "DEFAULT_LATE_MS",
    "DEFAULT_RATE",
    "ImpreciseProbeWarning",
    "ProbeProgress",
    "Prober",
    "count_reordered",
    "raw_sockets_allowed",
]

DEFAULT_RATE = float(defaults.PROBE_RATE)  # probes per second, per target and protocol
DEFAULT_LATE_MS = defaults.LATE_MS


class ImpreciseProbeWarning(UserWarning):
    """Probing fell back to timed connect(): no ICMP, user-space timestamps only."""


@dataclass(frozen=True, slots=True)
class ProbeProgress:
    """Live counters of a running prober."""

    elapsed_s: float
    sent: int
    replies: int
    rate_pps: float  # probes sent per second so far, all flows
    current_gap_ms: float  # longest time any flow has gone without a reply, now
    capture_drops: int  # packets the kernel dropped before the capture read them

    def line(self) -> str:
        drops = f"  capture drops {self.capture_drops}" if self.capture_drops else ""
        return (
            f"{self.elapsed_s:6.1f} s  {self.rate_pps:7.0f} probes/s  sent {self.sent}  "
            f"replies {self.replies}  gap {self.current_gap_ms:7.1f} ms{drops}"
        )


def raw_sockets_allowed() -> bool:
    """Whether this process may open raw sockets (CAP_NET_RAW)."""
    try:
        socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW).close()
    except PermissionError:
        return False
    return True


def count_reordered(samples: Sequence[Sample]) -> int:
    """Replies that arrived after a reply to a later probe of the same flow."""
    by_flow: dict[str, list[Sample]] = {}
    for s in samples:
        if s.received is not None and s.outcome is not Outcome.UNREACHABLE:
            by_flow.setdefault(s.flow, []).append(s)
    reordered = 0
    for flow in by_flow.values():
        top = -1
        for s in sorted(flow, key=lambda x: x.received or 0.0):
            if s.seq < top:
                reordered += 1
            top = max(top, s.seq)
    return reordered


# --- packets: built once with scapy, patched per probe -------------------------------------


class Prober:
    """Probe targets at a fixed rate per target and protocol until stopped.

    Use as a context manager or call `start()` and `stop()`; `snapshot()` reads live
    counters; `stop()` returns one Sample per probe, ordered by send time.
    """

    def __init__(
        self,
        targets: Sequence[ProbeTarget],
        rate: float = DEFAULT_RATE,
        protocols: Sequence[str] = ("icmp", "tcp"),
        namespace: str | None = None,
        late_ms: float = DEFAULT_LATE_MS,
        allowed_networks: Sequence[str] | None = None,
    ) -> None:
        if not targets:
            raise EnvironmentProblem("nothing to probe: give at least one target")
        if rate <= 0:
            raise EnvironmentProblem(f"probe rate {rate} must be above 0 probes/s")
        if allowed_networks is not None:
            check_targets_allowed([t.address for t in targets], allowed_networks)
        self.targets = list(targets)
        self.rate = float(rate)
        self.protocols = [Protocol(p) for p in protocols]
        self.namespace = namespace
        self.late_s = late_ms / 1000.0
        self.precise = True
        self.samples: list[Sample] = []
        self.lateness: list[float] = []  # seconds each probe left after its slot
        self.send_errors = 0
        self._flows: list[Flow] = []
        self._procs: list[Any] = []
        self._sender: Connection | None = None
        self._capture: Connection | None = None
        self._counters: Counters | None = None
        self._started = 0.0
        self._stopped = False

    # -- lifecycle --

    def start(self) -> Prober:
        if self._counters is not None:
            raise EnvironmentProblem("this prober was already started; make a new one")
        self.precise = raw_sockets_allowed()
        protocols = self.protocols
        if not self.precise:
            warnings.warn(
                "no CAP_NET_RAW: probing with timed TCP connect() instead (no ICMP, "
                "user-space timestamps, samples marked imprecise); run as root for precise probes",
                ImpreciseProbeWarning,
                stacklevel=2,
            )
            protocols = [Protocol.TCP]
        self._flows = self._make_flows(protocols)
        self._counters = Counters(len(self._flows))
        if self.precise:
            self._capture = self._spawn(capture_main, self._flows)
            self._sender = self._spawn(sender_main, self._flows, self.rate)
        else:
            self._sender = self._spawn(connect_main, self._flows, self.rate, self.late_s)
        self._started = time.time()
        for i in range(len(self._flows)):
            self._counters.last_reply[i] = self._started
        self._sender.send(("go",))
        return self

    def _make_flows(self, protocols: Sequence[Protocol]) -> list[Flow]:
        base = (os.getpid() * 16 + random.randrange(1 << 16)) & 0xFFFF
        flows: list[Flow] = []
        for t in self.targets:
            for p in protocols:
                flows.append(
                    Flow(
                        index=len(flows),
                        address=t.address,
                        protocol=p,
                        port=t.tcp_port if p is Protocol.TCP else 0,
                        ident=(base + len(flows)) & 0xFFFF,
                        isn=random.randrange(1 << 32),
                    )
                )
        return flows

    def _spawn(self, target: Any, *args: Any) -> Connection:
        """Fork `target(conn, counters, namespace, *args)` and wait for it to say ready."""
        parent, child = CTX.Pipe()
        argv = (child, self._counters, self.namespace, *args)
        proc = CTX.Process(target=target, args=argv, daemon=True, name=target.__name__)
        proc.start()
        child.close()
        self._procs.append(proc)
        if not parent.poll(15.0):
            self._abort()
            raise EnvironmentProblem(f"probe process {target.__name__} did not start in 15 s")
        msg = parent.recv()
        if msg[0] == "error":
            self._abort()
            raise EnvironmentProblem(f"cannot probe from {self._where()}: {msg[1]}")
        return parent

    def _where(self) -> str:
        return f"namespace {self.namespace!r}" if self.namespace else "this host"

    def _abort(self) -> None:
        if self._counters is not None:
            self._counters.stop.value = 1
        reap(self._procs)
        if self._stopped:
            for conn in (self._sender, self._capture):
                if conn is not None:
                    conn.close()

    def snapshot(self) -> ProbeProgress:
        c = self._counters
        if c is None:
            return ProbeProgress(0.0, 0, 0, 0.0, 0.0, 0)
        now = time.time()
        elapsed = max(now - self._started, 1e-9)
        gap = max((now - c.last_reply[i] for i in range(len(self._flows))), default=0.0)
        sent = int(c.sent.value)
        return ProbeProgress(
            elapsed, sent, int(c.replies.value), sent / elapsed, gap * 1000.0, int(c.drops.value)
        )

    def samples_since(self, since: float) -> list[Sample]:
        """Samples of probes sent since `since` whose fate is known (answered or overdue)."""
        if self._stopped:
            return [s for s in self.samples if s.sent >= since]
        if self._capture is None:
            return []  # the connect() fallback reports at stop only
        self._capture.send(("records", since))
        _, tails = self._capture.recv()
        cutoff = time.time() - self.late_s
        firsts = [first for first, _ in tails]
        records = [rec for _, rec in tails]
        counts = [first + _known(rec) for first, rec in tails]
        out = build_samples(self._flows, records, counts, self.late_s, first_seqs=firsts)
        return [s for s in out if s.sent >= since and (s.received is not None or s.sent < cutoff)]

    def stop(self) -> list[Sample]:
        """Stop sending, wait up to the late threshold for replies due, return all samples."""
        if self._stopped:
            return self.samples
        if self._counters is None or self._sender is None:
            raise EnvironmentProblem("this prober was never started")
        self._counters.stop.value = 1
        self._stopped = True
        try:
            if not self._sender.poll(10.0 + self.late_s * 2):
                raise EnvironmentProblem("the probe sender did not stop in time")
            msg = self._sender.recv()
            if self.precise:
                _, counts, wall, lateness, errors = msg
                self.send_errors = errors
                assert self._capture is not None
                self._capture.send(("finish", time.time() + self.late_s, self.late_s))
                if not self._capture.poll(10.0 + self.late_s * 2):
                    raise EnvironmentProblem("the probe capture did not finish in time")
                _, records = self._capture.recv()
                self.samples = build_samples(self._flows, records, counts, self.late_s, wall)
            else:
                _, counts, results, lateness = msg
                self.samples = self._connect_samples(results)
            self.lateness = list(lateness)
        finally:
            self._abort()
        return self.samples

    def _connect_samples(
        self, results: list[tuple[int, int, float, float | None, str]]
    ) -> list[Sample]:
        out = [
            Sample(
                target=self._flows[f].address,
                protocol=self._flows[f].protocol,
                seq=seq,
                sent=sent,
                received=received,
                outcome=Outcome(outcome),
                precise=False,
            )
            for f, seq, sent, received, outcome in results
        ]
        out.sort(key=lambda s: s.sent)
        return out

    def __enter__(self) -> Prober:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._counters is not None and not self._stopped:
            self.stop()


def _known(rec: FlowRecord) -> int:
    """How many probes of a flow the capture has seen leave so far."""
    n = len(rec.sent)
    while n and math.isnan(rec.sent[n - 1]):
        n -= 1
    return n
