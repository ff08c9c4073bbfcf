"""Where probes run and where they may go: namespaces, the lab's names and its networks."""

from __future__ import annotations

import contextlib
import ipaddress
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from erdrill.core.errors import EnvironmentProblem, ProbeRefused

__all__ = [
    "DEFAULT_LAB_NETWORKS",
    "Testbed",
    "check_targets_allowed",
    "die_with_parent",
    "enter_namespace",
    "leave_stop_signals_to_parent",
    "run_in_namespace",
    "source_address",
]

DEFAULT_LAB_NETWORKS: tuple[str, ...] = (
    "192.168.10.0/24",
    "10.1.0.0/16",
    "172.16.0.0/16",
    "198.51.100.0/24",
    "169.254.21.0/24",
)
_NETNS_DIR = "/run/netns"
T = TypeVar("T")


def enter_namespace(name: str) -> None:
    """Move this process (call it in a fresh child) into the named network namespace.

    Never creates the namespace: a missing one is an error, not a surprise new empty netns.
    """
    from pyroute2 import netns

    if not os.path.exists(os.path.join(_NETNS_DIR, name)):
        raise EnvironmentProblem(
            f"network namespace {name!r} does not exist; build the lab first (erdrill lab up)"
        )
    try:
        netns.setns(name, flags=0)
    except OSError as exc:
        raise EnvironmentProblem(
            f"cannot enter network namespace {name!r}: {exc.strerror or exc}; run as root"
        ) from exc


def leave_stop_signals_to_parent() -> None:
    """Ignore SIGINT, SIGTERM and SIGHUP in a probe child and die with the parent instead.

    A scheduler that signals the whole process group (Ctrl-C, systemd's SIGTERM) would
    otherwise kill the probes before the drill could collect what they measured; the
    parent stops them itself, and the kernel kills them if the parent dies.
    """
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    die_with_parent()


def die_with_parent() -> None:
    """Have the kernel kill this (child) process when its parent dies."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def source_address(destination: str) -> str:
    """The local address the kernel would use to reach `destination` (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect((destination, 9))
        except OSError as exc:
            raise ProbeRefused(
                f"probe target {destination} has no route from here ({exc.strerror or exc})"
            ) from exc
        address: str = s.getsockname()[0]
        return address


def check_targets_allowed(
    addresses: Iterable[str], allowed_networks: Iterable[str | ipaddress.IPv4Network]
) -> None:
    """Refuse any address outside `allowed_networks` (the lab's own networks)."""
    networks = [ipaddress.ip_network(n) for n in allowed_networks]
    shown = ", ".join(str(n) for n in networks) or "none"
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError as exc:
            raise ProbeRefused(
                f"probe target {address!r} is not an IP address; give a lab address"
            ) from exc
        if not any(ip in n for n in networks):
            raise ProbeRefused(
                f"probe target {address} is outside the lab (allowed: {shown}); "
                "probe only lab addresses, or probe without --lab-node"
            )


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


def run_in_namespace(namespace: str | None, fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` in a forked child inside `namespace` (here if None); return its result."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def main() -> None:
        try:
            if namespace:
                enter_namespace(namespace)
            child.send(("ok", fn(*args)))
        except BaseException as exc:
            child.send(("error", exc))

    proc = ctx.Process(target=main, daemon=True)
    proc.start()
    child.close()
    try:
        kind, value = parent.recv()
    except EOFError as exc:
        raise EnvironmentProblem(f"the child running {fn.__name__} died") from exc
    finally:
        proc.join()
    if kind == "error":
        raise value
    result: T = value
    return result
