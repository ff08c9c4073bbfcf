"""Long-lived TCP sessions across a failover: did each survive, how long did it stall.

`SessionProbe` opens kernel TCP connections (not scapy) from the probe namespace to each
target before the fault, sends a small numbered message on each every `interval_ms` and
reads the echo; after the restore `stop()` says, per session, whether it survived, the
longest stall in echoed data, what was exchanged, and when and why it broke:

- ``reset``: an RST came (a firewall rejecting it, a peer that lost the connection);
- ``timeout``: sent data stayed unacknowledged for `timeout_s` (TCP_USER_TIMEOUT, so the
  kernel aborts the connection itself: what an application with that timeout suffers);
- ``closed``: the peer closed it; ``not-opened``: no connection in `timeout_s`;
- ``stalled``: still open at the end, with messages that never came back;
- ``error``: another socket error, or an echo that did not match what was sent.

The client runs in one forked child inside the probe namespace (as the prober's children
do). Each target needs an echo service: the lab's workloads run one on their TCP port
(`lab.service`); a target with `server_namespace` gets one started there by the probe.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

from erdrill.core.echo import serve
from erdrill.core.errors import EnvironmentProblem
from erdrill.core.record import SessionEnd, SessionResult
from erdrill.probes.children import CTX, reap
from erdrill.probes.netns import (
    check_targets_allowed,
    enter_namespace,
    leave_stop_signals_to_parent,
)

__all__ = ["SessionProbe", "SessionTarget", "echo_server_main"]

_MESSAGE = struct.Struct("!QQ")  # sequence number, send time in ns: 16 bytes
_DRAIN_S = 1.0  # at stop, how long in-flight echoes may take to come back
_START_S = 15.0  # a child that has not reported in this long failed to start


@dataclass(frozen=True, slots=True)
class SessionTarget:
    """Where sessions go: an echo service at `address`:`port`.

    `server_namespace`: start an echo server in that namespace first (else one must run).
    """

    address: str
    port: int
    name: str = ""
    server_namespace: str | None = None


@dataclass
class _Session:
    """The client's book-keeping for one session (in the child)."""

    name: str
    address: str
    port: int
    sock: socket.socket | None = None
    end: SessionEnd | None = None
    reason: str = ""
    opened_at: float | None = None
    broken_at: float | None = None
    last_echo: float | None = None
    stall_s: float = 0.0
    stall_from: float | None = None
    sent: int = 0
    echoed: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    rtt_max_s: float = 0.0
    inbox: bytearray = field(default_factory=bytearray)
    outbox: bytearray = field(default_factory=bytearray)

    def break_(self, end: SessionEnd, reason: str, at: float) -> None:
        if self.end is not None:
            return
        self.end, self.reason, self.broken_at = end, reason, at
        self.gap(at)
        if self.sock is not None:
            self.sock.close()

    def gap(self, at: float) -> None:
        """Count the time since the last echo (or the opening) as a stall up to `at`."""
        since = self.last_echo if self.last_echo is not None else self.opened_at
        if since is not None and at - since > self.stall_s:
            self.stall_s, self.stall_from = at - since, since

    def result(self, interval_s: float) -> SessionResult:
        return SessionResult(
            name=self.name,
            address=self.address,
            port=self.port,
            end=self.end or SessionEnd.SURVIVED,
            reason=self.reason,
            opened_at=self.opened_at,
            broken_at=self.broken_at,
            interval_ms=round(interval_s * 1000.0, 3),
            stall_ms=round(self.stall_s * 1000.0, 3) if self.opened_at is not None else None,
            stall_from=self.stall_from,
            messages_sent=self.sent,
            messages_echoed=self.echoed,
            bytes_sent=self.bytes_sent,
            bytes_received=self.bytes_received,
            rtt_max_ms=round(self.rtt_max_s * 1000.0, 3) if self.echoed else None,
        )


def _why(exc: OSError) -> tuple[SessionEnd, str]:
    code = exc.errno or 0
    name = errno.errorcode.get(code, str(code))
    text = f"{name}: {exc.strerror or exc}"
    if code == errno.ECONNRESET:
        return SessionEnd.RESET, f"reset by an RST ({text})"
    if code == errno.ETIMEDOUT:
        return SessionEnd.TIMEOUT, f"sent data unacknowledged past the user timeout ({text})"
    if code == errno.EPIPE:
        return SessionEnd.CLOSED, f"closed ({text})"
    return SessionEnd.ERROR, text


class _Client:
    """The session client's loop (in the child): open, send, read echoes, report."""

    def __init__(self, sessions: list[_Session], interval_s: float, timeout_s: float) -> None:
        self.sessions = sessions
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.sel = selectors.DefaultSelector()

    def open_all(self) -> None:
        pending: dict[int, _Session] = {}
        for s in self.sessions:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(self.timeout_s * 1000))
            sock.setblocking(False)
            s.sock = sock
            rc = sock.connect_ex((s.address, s.port))
            if rc not in (0, errno.EINPROGRESS):
                self._not_opened(s, rc)
                continue
            pending[sock.fileno()] = s
            self.sel.register(sock, selectors.EVENT_WRITE, s)
        deadline = time.monotonic() + self.timeout_s
        while pending and (left := deadline - time.monotonic()) > 0:
            for key, _ in self.sel.select(left):
                s = key.data
                pending.pop(key.fd)
                self.sel.unregister(key.fileobj)
                assert s.sock is not None
                rc = s.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if rc:
                    self._not_opened(s, rc)
                    continue
                s.opened_at = time.time()
                self.sel.register(s.sock, selectors.EVENT_READ, s)
        for s in pending.values():
            assert s.sock is not None
            self.sel.unregister(s.sock)
            s.end, s.reason = SessionEnd.NOT_OPENED, f"no connection in {self.timeout_s:g} s"
            s.sock.close()

    def _not_opened(self, s: _Session, rc: int) -> None:
        name = errno.errorcode.get(rc, str(rc))
        s.end, s.reason = SessionEnd.NOT_OPENED, f"connect failed ({name}: {os.strerror(rc)})"
        if s.sock is not None:
            s.sock.close()

    def live(self) -> list[_Session]:
        return [s for s in self.sessions if s.end is None and s.opened_at is not None]

    def send_all(self, seq: int) -> None:
        now = time.time()
        for s in self.live():
            s.outbox += _MESSAGE.pack(seq, time.time_ns())
            s.sent += 1
            self._flush(s, now)

    def _flush(self, s: _Session, now: float) -> None:
        assert s.sock is not None
        try:
            n = s.sock.send(s.outbox)
        except BlockingIOError:
            return  # the send buffer is full while the path is down: kept in the outbox
        except OSError as exc:
            self._gone(s, *_why(exc), now)
            return
        s.bytes_sent += n
        del s.outbox[:n]

    def read(self, timeout: float) -> None:
        for key, _ in self.sel.select(max(timeout, 0.0)):
            s: _Session = key.data
            if s.end is not None:
                continue
            now = time.time()
            try:
                data = key.fileobj.recv(65536)  # type: ignore[union-attr]
            except BlockingIOError:
                continue
            except OSError as exc:
                self._gone(s, *_why(exc), now)
                continue
            if not data:
                self._gone(s, SessionEnd.CLOSED, "closed by the peer (EOF)", now)
                continue
            s.bytes_received += len(data)
            s.inbox += data
            self._echoes(s, now)

    def _echoes(self, s: _Session, now: float) -> None:
        size = _MESSAGE.size
        while len(s.inbox) >= size:
            seq, sent_ns = _MESSAGE.unpack_from(s.inbox)
            del s.inbox[:size]
            if seq != s.echoed:
                self._gone(s, SessionEnd.ERROR, f"echo {seq} came where {s.echoed} was due", now)
                return
            s.echoed += 1
            s.gap(now)
            s.last_echo = now
            s.rtt_max_s = max(s.rtt_max_s, now - sent_ns / 1e9)

    def _gone(self, s: _Session, end: SessionEnd, reason: str, at: float) -> None:
        if s.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.sel.unregister(s.sock)
        s.break_(end, reason, at)

    def run(self, conn: Connection) -> None:
        """Send and read until the parent says stop, then drain and close."""
        t0 = time.monotonic()
        seq = 0
        while not conn.poll():
            due = t0 + seq * self.interval_s
            if time.monotonic() >= due:
                self.send_all(seq)
                seq += 1
                if time.monotonic() - due > 10 * self.interval_s:  # a stalled VM: skip ahead
                    t0 = time.monotonic() - seq * self.interval_s
            for s in self.live():
                if s.outbox:
                    self._flush(s, time.time())
            self.read(min(t0 + seq * self.interval_s - time.monotonic(), self.interval_s))
        conn.recv()
        self.finish()

    def finish(self) -> None:
        deadline = time.monotonic() + _DRAIN_S
        while (live := self.live()) and any(s.echoed < s.sent for s in live):
            if time.monotonic() > deadline:
                break
            self.read(0.05)
        now = time.time()
        for s in self.live():
            assert s.sock is not None
            if s.echoed < s.sent:
                self._gone(
                    s,
                    SessionEnd.STALLED,
                    f"still open, {s.sent - s.echoed} messages never came back",
                    now,
                )
                continue
            self.sel.unregister(s.sock)
            s.sock.close()


def session_client_main(
    conn: Connection,
    namespace: str | None,
    targets: list[tuple[str, str, int]],
    interval_s: float,
    timeout_s: float,
) -> None:
    """Child: open the sessions, report which opened, exchange messages until told to stop."""
    try:
        leave_stop_signals_to_parent()
        if namespace:
            enter_namespace(namespace)
        client = _Client([_Session(n, a, p) for n, a, p in targets], interval_s, timeout_s)
        client.open_all()
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("opened", [s.opened_at is not None for s in client.sessions]))
    client.run(conn)
    conn.send(("done", [s.result(interval_s) for s in client.sessions]))


def echo_server_main(conn: Connection, namespace: str | None, address: str, port: int) -> None:
    """Child: echo every byte back on `address`:`port` until the parent goes or says stop."""
    try:
        leave_stop_signals_to_parent()
        if namespace:
            enter_namespace(namespace)
        srv = socket.create_server((address, port), backlog=64, reuse_port=True)
    except Exception as exc:
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready",))
    serve(srv, stop=conn)


class SessionProbe:
    """`per_target` long-lived TCP sessions to each target, from `namespace`.

    `start()` opens them (returning once each opened or failed); `stop()` drains, closes
    them and returns one `SessionResult` per session. Usable as a context manager.
    """

    def __init__(
        self,
        targets: Sequence[SessionTarget],
        per_target: int = 2,
        *,
        namespace: str | None = None,
        interval_ms: float = 50.0,
        timeout_s: float = 2.0,
        allowed_networks: Sequence[str] | None = None,
    ) -> None:
        if per_target < 1:
            raise EnvironmentProblem(f"sessions per target {per_target} must be at least 1")
        if not interval_ms > 0 or not timeout_s > 0:
            raise EnvironmentProblem(
                f"session interval {interval_ms} ms and timeout {timeout_s} s must be above 0"
            )
        if allowed_networks is not None:
            check_targets_allowed([t.address for t in targets], allowed_networks)
        self.targets = list(targets)
        self.per_target = per_target
        self.namespace = namespace
        self.interval_s = interval_ms / 1000.0
        self.timeout_s = timeout_s
        self.results: list[SessionResult] = []
        self.opened: list[bool] = []
        self._procs: list[Any] = []
        self._servers: list[Connection] = []
        self._client: Connection | None = None

    def _names(self) -> list[tuple[str, str, int]]:
        out = []
        for t in self.targets:
            label = t.name or t.address
            out += [(f"{label}#{i + 1}", t.address, t.port) for i in range(self.per_target)]
        return out

    def _spawn(self, main: Any, *args: Any) -> tuple[Connection, Any]:
        parent, child = CTX.Pipe()
        proc = CTX.Process(target=main, args=(child, *args), daemon=True, name=main.__name__)
        proc.start()
        child.close()
        self._procs.append(proc)
        if not parent.poll(_START_S + self.timeout_s):
            self._abort()
            raise EnvironmentProblem(f"session process {main.__name__} did not start")
        msg = parent.recv()
        if msg[0] == "error":
            self._abort()
            raise EnvironmentProblem(f"cannot run sessions ({main.__name__}): {msg[1]}")
        return parent, msg

    def start(self) -> SessionProbe:
        if self._client is not None:
            raise EnvironmentProblem("this session probe was already started; make a new one")
        for t in self.targets:
            if t.server_namespace is not None:
                conn, _ = self._spawn(echo_server_main, t.server_namespace, t.address, t.port)
                self._servers.append(conn)
        self._client, msg = self._spawn(
            session_client_main, self.namespace, self._names(), self.interval_s, self.timeout_s
        )
        self.opened = list(msg[1])
        return self

    def stop(self) -> list[SessionResult]:
        """Stop sending, let in-flight echoes come back, close; one result per session."""
        if self._client is None or self.results:
            return self.results
        try:
            self._client.send(("stop",))
            if not self._client.poll(_DRAIN_S + 10.0):
                raise EnvironmentProblem("the session client did not stop in time")
            _, self.results = self._client.recv()
        finally:
            self._abort()
        return self.results

    def _abort(self) -> None:
        for conn in self._servers:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        reap(self._procs)
        self._procs.clear()

    def __enter__(self) -> SessionProbe:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
