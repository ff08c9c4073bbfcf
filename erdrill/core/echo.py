"""The echo service: every byte a client sends comes back to it, one process, no threads.

The lab's workloads run it on their TCP port (`lab.service`) and the session probe
(`probes.sessions`) starts it where a target has none. Sends never block: what a client
does not read (its return path is down) waits in that client's own buffer, so one stuck
client never stalls the others; a client whose data stays unacknowledged for
`USER_TIMEOUT_MS` is dropped by the kernel.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
from typing import Any

__all__ = ["USER_TIMEOUT_MS", "serve"]

USER_TIMEOUT_MS = 120_000
_LIMIT = 1 << 20  # a client with this much unread echo is dropped


def serve(srv: socket.socket, stop: Any = None) -> None:
    """Echo to every client of the listening `srv` until `stop` (a pipe end) is readable."""
    srv.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ, None)
    if stop is not None:
        sel.register(stop, selectors.EVENT_READ, "stop")
    pending: dict[socket.socket, bytearray] = {}
    while True:
        for key, events in sel.select():
            if key.data == "stop":
                return
            if key.data is None:
                with contextlib.suppress(OSError):
                    peer, _ = srv.accept()
                    peer.setblocking(False)
                    peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, USER_TIMEOUT_MS)
                    pending[peer] = bytearray()
                    sel.register(peer, selectors.EVENT_READ, "peer")
                continue
            peer = key.fileobj  # type: ignore[assignment]
            assert isinstance(peer, socket.socket)
            if not _serve_peer(peer, pending[peer], bool(events & selectors.EVENT_READ)):
                sel.unregister(peer)
                del pending[peer]
                peer.close()
                continue
            want = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending[peer] else 0)
            if want != key.events:
                sel.modify(peer, want, "peer")


def _serve_peer(peer: socket.socket, out: bytearray, readable: bool) -> bool:
    """Read what came, send what is due; False once the client is gone."""
    try:
        if readable:
            data = peer.recv(65536)
            if not data:
                return False
            out += data
        if out:
            del out[: peer.send(out)]
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:
        return False
    return len(out) < _LIMIT
