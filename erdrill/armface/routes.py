"""The ARM paths the face serves: (method, operationId, path pattern), as in the swagger."""

from __future__ import annotations

import re

__all__ = ["AUTHORIZATION_API_VERSIONS", "OPERATION_URL", "PERMISSIONS", "ROUTES"]

PERMISSIONS = "Permissions_ListForResourceGroup"
AUTHORIZATION_API_VERSIONS = ("2022-04-01",)  # Microsoft.Authorization permissions

_PREFIX = (
    r"^/subscriptions/(?P<subscriptionId>[^/]+)/resourceGroups/(?P<resourceGroupName>[^/]+)"
    r"/providers/Microsoft\.Network/"
)
_SEG = r"(?P<{}>[^/]+)"
ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    (
        method,
        op,
        re.compile(_PREFIX + pattern.format(*[_SEG.format(n) for n in names]) + "$", re.IGNORECASE),
    )
    for method, op, pattern, names in [
        (
            "POST",
            "NetworkInterfaces_GetEffectiveRouteTable",
            "networkInterfaces/{}/effectiveRouteTable",
            ["networkInterfaceName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_GetLearnedRoutes",
            "virtualNetworkGateways/{}/getLearnedRoutes",
            ["virtualNetworkGatewayName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_GetBgpPeerStatus",
            "virtualNetworkGateways/{}/getBgpPeerStatus",
            ["virtualNetworkGatewayName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_StartExpressRouteSiteFailoverSimulation",
            "virtualNetworkGateways/{}/startSiteFailoverTest",
            ["virtualNetworkGatewayName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_StopExpressRouteSiteFailoverSimulation",
            "virtualNetworkGateways/{}/stopSiteFailoverTest",
            ["virtualNetworkGatewayName"],
        ),
        (
            "POST",
            "VirtualNetworkGateways_GetFailoverAllTestDetails",
            "virtualNetworkGateways/{}/getFailoverAllTestsDetails",
            ["virtualNetworkGatewayName"],
        ),
        (
            "GET",
            "VirtualNetworkGatewayConnections_Get",
            "connections/{}",
            ["virtualNetworkGatewayConnectionName"],
        ),
        (
            "GET",
            "ExpressRouteCircuitPeerings_Get",
            "expressRouteCircuits/{}/peerings/{}",
            ["circuitName", "peeringName"],
        ),
        (
            "PUT",
            "ExpressRouteCircuitPeerings_CreateOrUpdate",
            "expressRouteCircuits/{}/peerings/{}",
            ["circuitName", "peeringName"],
        ),
        (
            "GET",
            "VirtualNetworkGateways_Get",
            "virtualNetworkGateways/{}",
            ["virtualNetworkGatewayName"],
        ),
        (
            "POST",
            "ExpressRouteCircuits_ListRoutesTable",
            "expressRouteCircuits/{}/peerings/{}/routeTables/{}",
            ["circuitName", "peeringName", "devicePath"],
        ),
        *[  # the circuit link failover test (armface.link_failover)
            (
                "POST",
                f"ExpressRouteCircuits_{op}",
                "expressRouteCircuits/{}/" + path,
                ["circuitName"],
            )
            for op, path in [
                ("StartCircuitLinkFailoverTest", "startCircuitLinkFailoverTest"),
                ("StopCircuitLinkFailoverTest", "stopCircuitLinkFailoverTest"),
                ("GetCircuitLinkFailoverAllTestsDetails", "getCircuitLinkFailoverAllTestsDetails"),
                (
                    "GetCircuitLinkFailoverSingleTestDetails",
                    "getCircuitLinkFailoverSingleTestDetails",
                ),
            ]
        ],
        *[  # the inventory (armface.inventory): lists and gets of the resource group
            ("GET", op, path, names)
            for op, path, names in [
                ("VirtualNetworks_List", "virtualNetworks", []),
                ("VirtualNetworks_Get", "virtualNetworks/{}", ["virtualNetworkName"]),
                ("VirtualNetworkGateways_List", "virtualNetworkGateways", []),
                ("VirtualNetworkGatewayConnections_List", "connections", []),
                ("LocalNetworkGateways_List", "localNetworkGateways", []),
                (
                    "LocalNetworkGateways_Get",
                    "localNetworkGateways/{}",
                    ["localNetworkGatewayName"],
                ),
                ("ExpressRouteCircuits_List", "expressRouteCircuits", []),
                ("ExpressRouteCircuits_Get", "expressRouteCircuits/{}", ["circuitName"]),
                ("NetworkInterfaces_List", "networkInterfaces", []),
            ]
        ],
        (
            "POST",
            "NetworkWatchers_GetNextHop",
            "networkWatchers/{}/nextHop",
            ["networkWatcherName"],
        ),
    ]
]
ROUTES.append(  # Microsoft.Authorization: the caller's permissions on the resource group
    (
        "GET",
        PERMISSIONS,
        re.compile(
            r"^/subscriptions/(?P<subscriptionId>[^/]+)/resourceGroups/(?P<resourceGroupName>"
            r"[^/]+)/providers/Microsoft\.Authorization/permissions$",
            re.IGNORECASE,
        ),
    )
)
OPERATION_URL = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Network/locations/(?P<loc>[^/]+)"
    r"/(?P<kind>operations|operationResults)/(?P<id>[^/]+)$",
    re.IGNORECASE,
)
