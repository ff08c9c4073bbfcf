"""Where probes run and where they may go: namespaces, the lab's names and its networks."""

from __future__ import annotations

import ipaddress
import multiprocessing
import os
import signal
import socket
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from erdrill.core.errors import EnvironmentProblem, ProbeRefused

__all__ = [
    "DEFAULT_LAB_NETWORKS",
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
