"""Throwaway namespaces to probe in tests and benchmarks (not part of the installed package).

Used by tests/test_prober.py, tests/test_sessions.py and benchmarks/probe_rate.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

from erdrill.probes.netns import die_with_parent

__all__ = ["Testbed"]


class Testbed:
    """Throwaway namespaces to probe in tests and benchmarks, never wired to this host.

    cli 10.99.1.2 --+-- mid (bridge br0, 10.99.1.1, router) -- far 10.99.2.2 (via 10.99.2.1)
    srv 10.99.1.3 --+
    srv has a TCP listener on `open_port`; `closed_port` answers RST; 10.99.3.0/24 is
    unreachable (the mid router has no route). Names start with `prefix`.
    """

    CLIENT, SERVER, FAR, NOWHERE = "10.99.1.2", "10.99.1.3", "10.99.2.2", "10.99.3.9"
    open_port, closed_port = 8443, 8444
    __test__ = False  # not a pytest test class

    def __init__(self, prefix: str = "erdt-prb") -> None:
        self.prefix = prefix
        self.cli, self.mid = f"{prefix}-cli", f"{prefix}-mid"
        self.srv, self.far = f"{prefix}-srv", f"{prefix}-far"
        self._listeners: list[subprocess.Popen[bytes]] = []

    def _ip(self, *args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True)

    def build(self) -> Testbed:
        self.destroy()
        for ns in (self.cli, self.mid, self.srv, self.far):
            self._ip("netns", "add", ns)
            self._ip("-n", ns, "link", "set", "lo", "up")
        self._ip("-n", self.mid, "link", "add", "br0", "type", "bridge")
        for ns, addr in ((self.cli, self.CLIENT), (self.srv, self.SERVER)):
            port = f"p-{ns[-3:]}"
            self._ip("-n", self.mid, "link", "add", port, "type", "veth", "peer", "eth0")
            self._ip("-n", self.mid, "link", "set", "eth0", "netns", ns)
            self._ip("-n", self.mid, "link", "set", port, "master", "br0", "up")
            self._ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "eth0")
            self._ip("-n", ns, "link", "set", "eth0", "up")
            self._ip("-n", ns, "route", "add", "default", "via", "10.99.1.1")
        self._ip("-n", self.mid, "addr", "add", "10.99.1.1/24", "dev", "br0")
        self._ip("-n", self.mid, "link", "set", "br0", "up")
        self._ip("-n", self.mid, "link", "add", "p-far", "type", "veth", "peer", "eth0")
        self._ip("-n", self.mid, "link", "set", "eth0", "netns", self.far)
        self._ip("-n", self.mid, "addr", "add", "10.99.2.1/24", "dev", "p-far")
        self._ip("-n", self.mid, "link", "set", "p-far", "up")
        self._ip("-n", self.far, "addr", "add", f"{self.FAR}/24", "dev", "eth0")
        self._ip("-n", self.far, "link", "set", "eth0", "up")
        self._ip("-n", self.far, "route", "add", "default", "via", "10.99.2.1")
        for sysctl in ("ip_forward=1", "icmp_ratelimit=0", "icmp_msgs_per_sec=100000"):
            subprocess.run(
                ["ip", "netns", "exec", self.mid, "sysctl", "-qw", f"net.ipv4.{sysctl}"],
                check=True,
            )
        for ns, addr in ((self.srv, self.SERVER), (self.far, self.FAR)):
            self._listeners.append(_listen(ns, addr, self.open_port))
        return self

    def link(self, up: bool) -> None:
        """Take the server's bridge port down (silent loss) or back up."""
        self._ip("-n", self.mid, "link", "set", "p-srv", "up" if up else "down")

    def destroy(self) -> None:
        """Remove everything; safe to call twice or after a half-built testbed."""
        for proc in self._listeners:
            proc.kill()
            proc.wait()
        self._listeners.clear()
        for ns in (self.cli, self.mid, self.srv, self.far):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
            for pid in pids.stdout.split():  # left over from a run that died: only ours
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def __enter__(self) -> Testbed:
        return self.build()

    def __exit__(self, *exc: object) -> None:
        self.destroy()


def _listen(ns: str, address: str, port: int) -> subprocess.Popen[bytes]:
    code = (
        "import socket,time,sys;s=socket.socket();"
        "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
        f"s.bind(({address!r},{port}));s.listen(4096);print('up',flush=True);time.sleep(1e6)"
    )
    proc = subprocess.Popen(
        ["ip", "netns", "exec", ns, sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    assert proc.stdout is not None
    proc.stdout.readline()
    return proc
