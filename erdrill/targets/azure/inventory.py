"""Read-only ARM reads of a resource group's network inventory, as plain JSON bodies.

Virtual networks, gateways, connections, local network gateways, circuits and NICs,
through azure-mgmt-network (each a recorded `Arm.call`); `erdrill discover` and the
architecture checks read them. Bodies are the REST shapes (camelCase), as ARM sends them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from erdrill.targets.azure.arm import Arm

__all__ = ["Inventory", "name_of", "prop", "subnet_of_id", "vnet_of_id"]


def prop(body: Any, *keys: str) -> Any:
    """The value at `properties.<keys>` of a body, else None."""
    cur = body.get("properties") if isinstance(body, dict) else None
    for k in keys:
        cur = cur.get(k) if isinstance(cur, dict) else None
    return cur


def name_of(resource_id: Any) -> str:
    """The last segment of an ARM id ("" for anything else)."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1] if isinstance(resource_id, str) else ""


def subnet_of_id(resource_id: Any) -> str:
    """`<vnet>/<subnet>` of a subnet id (case as given), else ""."""
    if not isinstance(resource_id, str):
        return ""
    parts = resource_id.strip("/").split("/")
    low = [p.lower() for p in parts]
    if "virtualnetworks" in low and "subnets" in low:
        i, j = low.index("virtualnetworks"), low.index("subnets")
        if j + 1 < len(parts):
            return f"{parts[i + 1]}/{parts[j + 1]}"
    return ""


def vnet_of_id(resource_id: Any) -> str:
    return subnet_of_id(resource_id).partition("/")[0]


class Inventory:
    """The resource group's network resources, read once each and kept."""

    def __init__(self, arm: Arm, resource_group: str) -> None:
        self.arm = arm
        self.rg = resource_group
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def _list(self, what: str, fn: Callable[[], Iterable[Any]]) -> list[dict[str, Any]]:
        if what not in self._cache:

            def run() -> list[dict[str, Any]]:
                return [x.as_dict() if hasattr(x, "as_dict") else dict(x) for x in fn()]

            detail = f"{what} in resource group {self.rg}"
            self._cache[what] = self.arm.call(f"{what} list", detail, run) or []
        return self._cache[what]

    def virtual_networks(self) -> list[dict[str, Any]]:
        return self._list(
            "virtual networks", lambda: self.arm.client.virtual_networks.list(self.rg)
        )

    def gateways(self) -> list[dict[str, Any]]:
        c = self.arm.client
        return self._list(
            "virtual network gateways", lambda: c.virtual_network_gateways.list(self.rg)
        )

    def connections(self) -> list[dict[str, Any]]:
        c = self.arm.client
        return self._list(
            "connections", lambda: c.virtual_network_gateway_connections.list(self.rg)
        )

    def local_gateways(self) -> list[dict[str, Any]]:
        c = self.arm.client
        return self._list("local network gateways", lambda: c.local_network_gateways.list(self.rg))

    def circuits(self) -> list[dict[str, Any]]:
        c = self.arm.client
        return self._list("ExpressRoute circuits", lambda: c.express_route_circuits.list(self.rg))

    def nics(self) -> list[dict[str, Any]]:
        c = self.arm.client
        return self._list("network interfaces", lambda: c.network_interfaces.list(self.rg))

    # --- lookups ----------------------------------------------------------------------
    @staticmethod
    def named(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
        return next((x for x in items if str(x.get("name", "")).lower() == name.lower()), None)

    @staticmethod
    def gateway_subnets(gateway: dict[str, Any]) -> set[str]:
        """`<vnet>/<subnet>` of every ipConfiguration of a gateway."""
        configs = prop(gateway, "ipConfigurations") or []
        return {subnet_of_id(prop(c, "subnet", "id")) for c in configs if isinstance(c, dict)}

    def subnet_prefix(self, vnet_subnet: str) -> str | None:
        """The address prefix of `<vnet>/<subnet>`, None when there is no such subnet."""
        vnet_name, _, subnet_name = vnet_subnet.partition("/")
        vnet = self.named(self.virtual_networks(), vnet_name)
        for s in prop(vnet, "subnets") or []:
            if isinstance(s, dict) and str(s.get("name", "")).lower() == subnet_name.lower():
                value = prop(s, "addressPrefix") or (prop(s, "addressPrefixes") or [None])[0]
                return str(value) if value else None
        return None

    def nic_addresses(self, nic: dict[str, Any]) -> list[tuple[str, str]]:
        """(private IP, `<vnet>/<subnet>`) of each ipConfiguration of a NIC."""
        out = []
        for c in prop(nic, "ipConfigurations") or []:
            address = prop(c, "privateIPAddress")
            if isinstance(address, str):
                out.append((address, subnet_of_id(prop(c, "subnet", "id"))))
        return out


def covers(prefixes: Iterable[str], wanted: Iterable[str]) -> list[str]:
    """The `wanted` networks no prefix of `prefixes` contains."""
    nets = []
    for p in prefixes:
        try:
            nets.append(ipaddress.ip_network(p, strict=False))
        except ValueError:
            continue
    out = []
    for w in wanted:
        net = ipaddress.ip_network(w, strict=False)
        if not any(net.version == n.version and net.subnet_of(n) for n in nets):  # type: ignore[arg-type]
            out.append(w)
    return out
