"""The workload's TCP service: a listening socket (the kernel answers SYNs), run in its namespace."""

from __future__ import annotations

import signal
import socket
import sys

__all__ = ["main"]


def main() -> int:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 443
    srv = socket.create_server(("0.0.0.0", port), backlog=4096, reuse_port=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        conn, _ = srv.accept()
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
