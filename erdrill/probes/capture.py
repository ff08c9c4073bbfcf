"""Capture probes and their replies with kernel timestamps, and match them per flow.

One AF_PACKET (ETH_P_ALL, SOCK_DGRAM) socket sees every probe as it leaves and every
reply as it arrives, each stamped by the kernel (SO_TIMESTAMPNS). A probe is recognised
by how it was built (`Flow`): ICMP echo by identifier and the 32-bit sequence carried in
its payload, TCP SYN by destination, source port and sequence number (the reply acks it).
"""

from __future__ import annotations

import math
import select
import socket
import struct
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from erdrill.probes.netns import enter_namespace, leave_stop_signals_to_parent
from erdrill.probes.samples import Outcome, Protocol, Sample

__all__ = [
    "Flow",
    "FlowRecord",
    "Matcher",
    "PacketCapture",
    "build_samples",
    "capture_main",
]

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_STATISTICS = 6
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@ll")
SPORT_BASE = 61000  # above Linux's default ephemeral range (32768-60999)
SPORT_SPAN = 4500
_SNAPLEN = 192
_NO_REPLY, _REPLY, _UNREACHABLE = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Flow:
    """One probe stream: a target address and protocol, and how its probes are marked."""

    index: int
    address: str
    protocol: Protocol
    port: int = 0  # TCP destination port
    ident: int = 0  # ICMP identifier
    isn: int = 0  # TCP sequence number of probe 0

    def sport(self, seq: int) -> int:
        """TCP source port of probe `seq` (a new port per probe, cycling)."""
        return SPORT_BASE + seq % SPORT_SPAN

    def tcp_seq(self, seq: int) -> int:
        return (self.isn + seq) & 0xFFFFFFFF


@dataclass(slots=True)
class FlowRecord:
    """What the capture saw for one flow, indexed by probe sequence number."""

    sent: array[float] = field(default_factory=lambda: array("d"))
    received: array[float] = field(default_factory=lambda: array("d"))
    ttl: array[int] = field(default_factory=lambda: array("B"))
    duplicates: array[int] = field(default_factory=lambda: array("H"))
    kind: array[int] = field(default_factory=lambda: array("B"))
    ifindex: array[int] = field(default_factory=lambda: array("i"))

    def _grow(self, seq: int) -> None:
        n = seq + 1 - len(self.sent)
        if n <= 0:
            return
        n = max(n, 1024)
        nan = math.nan
        self.sent.extend([nan] * n)
        self.received.extend([nan] * n)
        self.ttl.extend(bytes(n))
        self.duplicates.extend([0] * n)
        self.kind.extend(bytes(n))
        self.ifindex.extend([0] * n)

    def tail(self, since: float, top: int) -> tuple[int, FlowRecord]:
        """(first seq, record of probes first..top): the probes sent at or after `since`."""
        first = top + 1
        while first > 0 and not self.sent[first - 1] < since:  # NaN (unseen) stays in
            first -= 1
        end = top + 1
        return first, FlowRecord(
            self.sent[first:end],
            self.received[first:end],
            self.ttl[first:end],
            self.duplicates[first:end],
            self.kind[first:end],
            self.ifindex[first:end],
        )

    def saw_sent(self, seq: int, t: float) -> None:
        self._grow(seq)
        if math.isnan(self.sent[seq]):
            self.sent[seq] = t

    def saw_reply(self, seq: int, t: float, ttl: int, kind: int, ifindex: int) -> bool:
        """Record a reply; False if it was a duplicate of one already seen."""
        self._grow(seq)
        old = self.kind[seq]
        if old == _REPLY or (old == _UNREACHABLE and kind == _UNREACHABLE):
            if self.ifindex[seq] == ifindex:  # the same packet on a second interface is no dup
                self.duplicates[seq] = min(self.duplicates[seq] + 1, 0xFFFF)
            return False
        self.kind[seq] = kind
        self.received[seq] = t
        self.ttl[seq] = ttl
        self.ifindex[seq] = ifindex
        return True


class _Decoder:
    """Turns captured IPv4 packets into (flow, seq, event) using the flows' markings."""

    def __init__(self, flows: list[Flow]) -> None:
        self.icmp: dict[tuple[bytes, int], Flow] = {}
        self.tcp: dict[tuple[bytes, int], Flow] = {}
        for f in flows:
            key = socket.inet_aton(f.address)
            if f.protocol is Protocol.ICMP:
                self.icmp[(key, f.ident)] = f
            else:
                self.tcp[(key, f.port)] = f

    def outgoing(self, pkt: bytes) -> tuple[Flow, int] | None:
        ihl = (pkt[0] & 0x0F) * 4
        proto = pkt[9]
        if proto == 1 and len(pkt) >= ihl + 16 and pkt[ihl] == 8:
            f = self.icmp.get((pkt[16:20], int.from_bytes(pkt[ihl + 4 : ihl + 6])))
            if f is not None:
                return f, int.from_bytes(pkt[ihl + 8 : ihl + 12])
        elif proto == 6 and len(pkt) >= ihl + 8:
            if len(pkt) >= ihl + 14 and pkt[ihl + 13] & 0x17 != 0x02:  # not a bare SYN
                return None  # (an ICMP error may quote only 8 bytes: no flags to check)
            f = self.tcp.get((pkt[16:20], int.from_bytes(pkt[ihl + 2 : ihl + 4])))
            if f is not None:
                seq = (int.from_bytes(pkt[ihl + 4 : ihl + 8]) - f.isn) & 0xFFFFFFFF
                if int.from_bytes(pkt[ihl : ihl + 2]) == f.sport(seq):
                    return f, seq
        return None

    def incoming(self, pkt: bytes) -> tuple[Flow, int, int] | None:
        """(flow, seq, kind) for an echo reply, SYN-ACK, RST or ICMP error about a probe."""
        ihl = (pkt[0] & 0x0F) * 4
        proto = pkt[9]
        if proto == 6 and len(pkt) >= ihl + 14:
            flags = pkt[ihl + 13]
            if flags & 0x04 or flags & 0x12 == 0x12:  # RST, or SYN+ACK
                f = self.tcp.get((pkt[12:16], int.from_bytes(pkt[ihl : ihl + 2])))
                if f is not None:
                    ack = int.from_bytes(pkt[ihl + 8 : ihl + 12])
                    seq = (ack - 1 - f.isn) & 0xFFFFFFFF
                    if int.from_bytes(pkt[ihl + 2 : ihl + 4]) == f.sport(seq):
                        return f, seq, _REPLY
            return None
        if proto != 1 or len(pkt) < ihl + 8:
            return None
        icmp_type = pkt[ihl]
        if icmp_type == 0 and len(pkt) >= ihl + 12:
            f = self.icmp.get((pkt[12:16], int.from_bytes(pkt[ihl + 4 : ihl + 6])))
            if f is not None:
                return f, int.from_bytes(pkt[ihl + 8 : ihl + 12]), _REPLY
        elif icmp_type in (3, 11):  # destination unreachable, time exceeded (a loop)
            inner = pkt[ihl + 8 :]
            if len(inner) < 28:
                return None
            found = self.outgoing(inner)
            if found is not None:
                return found[0], found[1], _UNREACHABLE
            if inner[9] == 1 and len(inner) >= (inner[0] & 0x0F) * 4 + 8:
                return self._icmp_error_short(inner)
        return None

    def _icmp_error_short(self, inner: bytes) -> tuple[Flow, int, int] | None:
        # An ICMP error quoting only 8 bytes of our echo: the 16-bit sequence is all there is.
        ihl = (inner[0] & 0x0F) * 4
        f = self.icmp.get((inner[16:20], int.from_bytes(inner[ihl + 4 : ihl + 6])))
        if f is None:
            return None
        return f, -int.from_bytes(inner[ihl + 6 : ihl + 8]) - 1, _UNREACHABLE


class PacketCapture:
    """An AF_PACKET socket reading IPv4 packets with their kernel receive/transmit stamps."""

    def __init__(self, rcvbuf: int = 16 << 20) -> None:
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)  # SO_RCVBUFFORCE
        except OSError:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sock.setblocking(False)
        self.drops = 0
        self._cmsg = socket.CMSG_SPACE(_TIMESPEC.size)
        self._ifindex: dict[str, int] = {}

    def fileno(self) -> int:
        return self.sock.fileno()

    def read(self) -> tuple[bytes, float, bool, int] | None:
        """(IPv4 packet, kernel stamp, outgoing?, ifindex), or None when nothing is waiting."""
        while True:
            try:
                data, anc, _flags, addr = self.sock.recvmsg(_SNAPLEN, self._cmsg)
            except BlockingIOError:
                return None
            if addr[1] != ETH_P_IP or len(data) < 20:
                continue
            stamp = time.time()
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, nsec = _TIMESPEC.unpack(raw[: _TIMESPEC.size])
                    stamp = sec + nsec * 1e-9
            ifindex = self._ifindex.setdefault(addr[0], len(self._ifindex) + 1)
            return data, stamp, addr[2] == PACKET_OUTGOING, ifindex

    def kernel_drops(self) -> int:
        """Packets the kernel dropped for this socket since the last call (adds to `drops`)."""
        raw = self.sock.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8)
        drops = int(struct.unpack("II", raw)[1])
        self.drops += drops
        return drops

    def close(self) -> None:
        self.sock.close()


class Matcher:
    """Feeds captured packets into one FlowRecord per flow and keeps live counters."""

    def __init__(self, flows: list[Flow], counters: Any) -> None:
        self.decoder = _Decoder(flows)
        self.records = [FlowRecord() for _ in flows]
        self.counters = counters
        self.top_sent = [-1] * len(flows)

    def feed(self, pkt: bytes, stamp: float, outgoing: bool, ifindex: int) -> None:
        if outgoing:
            found = self.decoder.outgoing(pkt)
            if found is not None:
                f, seq = found
                self.records[f.index].saw_sent(seq, stamp)
                self.top_sent[f.index] = max(self.top_sent[f.index], seq)
            return
        hit = self.decoder.incoming(pkt)
        if hit is None:
            return
        f, seq, kind = hit
        if seq < 0:  # 16-bit sequence from a short ICMP error: the newest probe that fits
            low, top = -seq - 1, self.top_sent[f.index]
            seq = top - ((top - low) & 0xFFFF)
            if seq < 0:
                return
        if self.records[f.index].saw_reply(seq, stamp, pkt[8], kind, ifindex) and kind == _REPLY:
            self.counters.replies.value += 1
            self.counters.last_reply[f.index] = stamp

    def awaiting(self, since: float) -> bool:
        """Whether a probe sent after `since` still waits for its answer."""
        for rec, top in zip(self.records, self.top_sent, strict=True):
            for seq in range(top, -1, -1):
                t = rec.sent[seq]
                if math.isnan(t):
                    continue
                if t < since:
                    break
                if rec.kind[seq] == _NO_REPLY:
                    return True
        return False


def capture_main(conn: Connection, counters: Any, namespace: str | None, flows: list[Flow]) -> None:
    """Child process: capture until told to finish, then send the FlowRecords back.

    Protocol on `conn`: sends ("ready",) or ("error", message); then answers
    ("records", since) with ("tails", [(first seq, FlowRecord from it)]) and ("finish", wait_until, late_s) with the
    final records after waiting (until `wait_until` at most) for replies still due.
    """
    leave_stop_signals_to_parent()
    try:
        if namespace:
            enter_namespace(namespace)
        cap = PacketCapture()
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    matcher = Matcher(flows, counters)
    conn.send(("ready",))
    finish_at: float | None = None
    late_s = 0.0
    while True:
        timeout = 0.05 if finish_at is None else max(0.0, min(0.05, finish_at - time.time()))
        readable, _, _ = select.select([cap.fileno(), conn.fileno()], [], [], timeout)
        while (got := cap.read()) is not None:
            matcher.feed(*got)
        counters.drops.value += cap.kernel_drops()
        if conn.fileno() in readable:
            msg = conn.recv()
            if msg[0] == "records":
                tops = matcher.top_sent
                tails = [r.tail(msg[1], t) for r, t in zip(matcher.records, tops, strict=True)]
                conn.send(("tails", tails))
            elif msg[0] == "finish":
                finish_at, late_s = float(msg[1]), float(msg[2])
        if finish_at is not None:
            now = time.time()
            if now >= finish_at or not matcher.awaiting(now - late_s):
                break
    cap.close()
    conn.send(("records", matcher.records))


def build_samples(
    flows: list[Flow],
    records: list[FlowRecord],
    sent_counts: list[int],
    late_s: float,
    fallback_sent: list[array[float]] | None = None,
    first_seqs: list[int] | None = None,
) -> list[Sample]:
    """One Sample per probe the sender sent, ordered by send time.

    A probe the capture did not see leave gets the sender's own stamp (`fallback_sent`),
    or NaN without one, and is marked imprecise.
    """
    out: list[Sample] = []
    user = fallback_sent or [array("d") for _ in flows]
    firsts = first_seqs or [0] * len(flows)
    for f, rec, count, user_sent, first in zip(
        flows, records, sent_counts, user, firsts, strict=True
    ):
        for seq in range(first, count):
            i = seq - first
            have = i < len(rec.sent)
            sent = rec.sent[i] if have else math.nan
            precise = not math.isnan(sent)
            if not precise and seq < len(user_sent):
                sent = user_sent[seq]
            kind = rec.kind[i] if have else _NO_REPLY
            received: float | None = None
            ttl: int | None = None
            if kind == _NO_REPLY:
                outcome = Outcome.LOST
            else:
                received, ttl = rec.received[i], rec.ttl[i]
                if kind == _UNREACHABLE:
                    outcome = Outcome.UNREACHABLE
                elif received - sent > late_s:
                    outcome = Outcome.LATE
                else:
                    outcome = Outcome.REPLY
            out.append(
                Sample(
                    target=f.address,
                    protocol=f.protocol,
                    seq=seq,
                    sent=sent,
                    received=received,
                    outcome=outcome,
                    ttl=ttl,
                    duplicates=rec.duplicates[i] if have else 0,
                    precise=precise,
                )
            )
    out.sort(key=lambda s: s.sent)
    return out
