"""Where probes run and where they may go: namespaces, the lab's names and its networks."""

from __future__ import annotations

import importlib
import ipaddress
import os
import socket
from collections.abc import Iterable
from typing import Any

from erdrill.errors import EnvironmentProblem, ProbeRefused

__all__ = [
    "DEFAULT_LAB_NETWORKS",
    "DEFAULT_LAB_PREFIX",
    "check_targets_allowed",
    "enter_namespace",
    "lab_namespace",
    "lab_networks",
    "source_address",
]

DEFAULT_LAB_PREFIX = "erd-lab"
DEFAULT_LAB_NETWORKS: tuple[str, ...] = (
    "192.168.10.0/24",
    "10.1.0.0/16",
    "172.16.0.0/16",
    "198.51.100.0/24",
    "169.254.21.0/24",
)
_NETNS_DIR = "/run/netns"


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


def _lab_class() -> Any:
    """The lab package's `Lab` class, or None while the lab package does not offer one."""
    try:
        module = importlib.import_module("lab.lab")
    except ImportError:
        return None
    return getattr(module, "Lab", None)


def _current_lab() -> Any:
    lab_cls = _lab_class()
    current = getattr(lab_cls, "current", None)
    if current is None:
        return None
    try:
        return current()
    except Exception:  # the lab is not up, or has no record yet: use the defaults
        return None


def lab_namespace(node: str) -> str:
    """The network namespace of lab node `node` ("erd-lab-<node>" unless the lab says)."""
    lab = _current_lab()
    for attr in ("namespace", "namespace_of", "netns"):
        helper = getattr(lab, attr, None)
        if callable(helper):
            try:
                return str(helper(node))
            except Exception:  # unknown node or older lab API: fall back to the naming rule
                break
    prefix = getattr(lab, "prefix", None) or DEFAULT_LAB_PREFIX
    return f"{prefix}-{node}"


def lab_networks() -> list[str]:
    """The networks a probe from inside the lab may target."""
    lab = _current_lab()
    for attr in ("allowed_networks", "networks"):
        value = getattr(lab, attr, None)
        if callable(value):
            try:
                value = value()
            except Exception:
                value = None
        if value:
            return [str(n) for n in value]
    return list(DEFAULT_LAB_NETWORKS)
