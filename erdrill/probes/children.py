"""The probers' child processes: the paced raw-socket sender and the connect() fallback.

Both run forked from `probes.prober.Prober`, inside the probe namespace when one is given,
and report through shared-memory counters the parent reads without locks.
"""

from __future__ import annotations

import multiprocessing as mp
import selectors
import socket
import struct
import time
from array import array
from multiprocessing.connection import Connection
from typing import Any

from erdrill.probes.capture import Flow
from erdrill.probes.netns import enter_namespace, leave_stop_signals_to_parent, source_address
from erdrill.probes.samples import Outcome, Protocol

__all__ = ["CTX", "Counters", "connect_main", "reap", "sender_main"]

_SPIN_S = 0.0005  # sleep until this long before a slot, then spin
_MAX_BEHIND_S = 0.05  # further behind than this (a stalled VM): skip ahead, don't burst
_CTX = mp.get_context("fork")
CTX = mp.get_context("fork")


def reap(procs: list[Any], grace_s: float = 2.0) -> None:
    """Wait for each child process; kill one still running after `grace_s`."""
    for proc in procs:
        proc.join(grace_s)
        if proc.is_alive():
            proc.kill()
            proc.join(grace_s)


class Counters:
    """Shared-memory counters the children write and the parent reads (no locks)."""

    def __init__(self, flows: int) -> None:
        self.sent: Any = CTX.RawValue("q", 0)
        self.replies: Any = CTX.RawValue("q", 0)
        self.drops: Any = CTX.RawValue("q", 0)
        self.stop: Any = CTX.RawValue("b", 0)
        self.last_reply: Any = CTX.RawArray("d", flows)


def _csum_words(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def _fold(total: int) -> int:
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


class _Template:
    """A probe packet as bytes, with the sum of its fixed words for the checksum."""

    def __init__(self, flow: Flow, source: str) -> None:
        from scapy.layers.inet import ICMP, IP, TCP
        from scapy.packet import Raw

        self.flow = flow
        ip = IP(src=source, dst=flow.address, ttl=64, id=0)
        if flow.protocol is Protocol.ICMP:
            pkt = ip / ICMP(type=8, id=flow.ident, seq=0, chksum=0) / Raw(bytes(8))
            self.buf = bytearray(bytes(pkt))
            self.base = _csum_words(bytes(self.buf[20:]))
        else:
            tcp = TCP(sport=0, dport=flow.port, seq=0, flags="S", window=64240, chksum=0)
            self.buf = bytearray(bytes(ip / tcp))
            segment = bytes(self.buf[20:])
            pseudo = socket.inet_aton(source) + socket.inet_aton(flow.address)
            pseudo += struct.pack("!BBH", 0, 6, len(segment))
            self.base = _csum_words(pseudo + segment)
        self.dest = (flow.address, 0)

    def packet(self, seq: int) -> bytearray:
        buf = self.buf
        if self.flow.protocol is Protocol.ICMP:
            s16 = seq & 0xFFFF
            s32 = seq & 0xFFFFFFFF
            csum = _fold(self.base + s16 + (s32 >> 16) + (s32 & 0xFFFF))
            struct.pack_into("!H", buf, 22, csum)
            struct.pack_into("!H", buf, 26, s16)
            struct.pack_into("!I", buf, 28, s32)
        else:
            sport = self.flow.sport(seq)
            tseq = self.flow.tcp_seq(seq)
            csum = _fold(self.base + sport + (tseq >> 16) + (tseq & 0xFFFF))
            struct.pack_into("!H", buf, 20, sport)
            struct.pack_into("!I", buf, 24, tseq)
            struct.pack_into("!H", buf, 36, csum)
        return buf


# --- children --------------------------------------------------------------------------------


def _child_setup(namespace: str | None) -> None:
    leave_stop_signals_to_parent()
    if namespace:
        enter_namespace(namespace)


def sender_main(
    conn: Connection, counters: Counters, namespace: str | None, flows: list[Flow], rate: float
) -> None:
    """Child: pace probes round-robin over the flows until told to stop, then report."""
    try:
        _child_setup(namespace)
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
        templates = [_Template(f, source_address(f.address)) for f in flows]
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready",))
    conn.recv()  # go
    n = len(templates)
    interval = 1.0 / (rate * n)
    counts = [0] * n
    wall = [array("d") for _ in range(n)]
    lateness = array("d")
    errors = 0
    perf, now_wall, sleep, sendto = time.perf_counter, time.time, time.sleep, sock.sendto
    stop = counters.stop
    t0 = perf()
    slot = 0
    while not stop.value:
        due = t0 + slot * interval
        wait = due - perf()
        if wait > _SPIN_S:
            sleep(wait - _SPIN_S)
        while perf() < due:
            pass
        f = slot % n
        seq = counts[f]
        tpl = templates[f]
        late = perf() - due
        try:
            sendto(tpl.packet(seq), tpl.dest)
        except OSError:  # no route or no buffer space right now: the probe is lost
            errors += 1
        wall[f].append(now_wall())
        lateness.append(late)
        counts[f] = seq + 1
        counters.sent.value += 1
        slot += 1
        if late > _MAX_BEHIND_S:
            t0 += late
    sock.close()
    conn.send(("done", counts, wall, lateness, errors))


def connect_main(
    conn: Connection,
    counters: Counters,
    namespace: str | None,
    flows: list[Flow],
    rate: float,
    late_s: float,
) -> None:
    """Child: timed non-blocking TCP connect() probes, for when raw sockets are denied."""
    _child_setup(namespace)
    conn.send(("ready",))
    conn.recv()  # go
    n = len(flows)
    interval = 1.0 / (rate * n)
    sel = selectors.DefaultSelector()
    counts = [0] * n
    results: list[tuple[int, int, float, float | None, str]] = []
    pending: dict[int, tuple[socket.socket, int, int, float]] = {}
    t0 = time.perf_counter()
    slot = 0
    lateness = array("d")

    def finish(fd: int, received: float | None, outcome: str) -> None:
        s, f, seq, sent = pending.pop(fd)
        sel.unregister(s)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()  # with linger 0: an RST, no TIME_WAIT
        results.append((f, seq, sent, received, outcome))
        if outcome == Outcome.REPLY.value:
            counters.replies.value += 1
            counters.last_reply[f] = received

    while not counters.stop.value or pending:
        now = time.time()
        for fd, (_s, _f, _seq, sent) in list(pending.items()):
            if now - sent > late_s:
                finish(fd, None, Outcome.LOST.value)
        due = t0 + slot * interval
        timeout = max(0.0, due - time.perf_counter())
        if counters.stop.value:
            timeout = 0.01
        for key, _ in sel.select(timeout):
            received = time.time()
            err = key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # type: ignore[union-attr]
            if err in (0, 111):  # connected (SYN-ACK) or refused (RST): reachable
                finish(key.fd, received, Outcome.REPLY.value)
            elif err in (113, 101):  # EHOSTUNREACH, ENETUNREACH
                finish(key.fd, received, Outcome.UNREACHABLE.value)
            else:
                finish(key.fd, None, Outcome.LOST.value)
        if counters.stop.value or time.perf_counter() < due:
            continue
        lateness.append(time.perf_counter() - due)
        f = slot % n
        seq = counts[f]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        sent = time.time()
        rc = s.connect_ex((flows[f].address, flows[f].port))
        pending[s.fileno()] = (s, f, seq, sent)
        sel.register(s, selectors.EVENT_WRITE)
        if rc not in (0, 115):  # not EINPROGRESS: failed at once
            finish(s.fileno(), time.time(), _connect_outcome(rc))
        counts[f] = seq + 1
        counters.sent.value += 1
        slot += 1
        if time.perf_counter() - due > _MAX_BEHIND_S:
            t0 = time.perf_counter() - slot * interval
    conn.send(("done", counts, results, lateness))


def _connect_outcome(errno_: int) -> str:
    if errno_ in (111, 0):
        return Outcome.REPLY.value
    if errno_ in (113, 101):
        return Outcome.UNREACHABLE.value
    return Outcome.LOST.value


# --- the parent's handle --------------------------------------------------------------------
