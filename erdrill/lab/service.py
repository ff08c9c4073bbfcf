"""The workload's TCP service, run in its namespace: the kernel answers the probes' SYNs, and
every connection is an echo (core.echo), so long-lived sessions can be checked across a fault."""

from __future__ import annotations

import signal
import socket
import sys

from erdrill.core.echo import serve

__all__ = ["main"]


def main() -> int:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 443
    srv = socket.create_server(("0.0.0.0", port), backlog=4096, reuse_port=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    serve(srv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
