"""The Azure target: control-plane evidence and the ExpressRoute faults, through the Azure SDK.

- arm: the ARM client, retried and bounded calls, the record of API steps
- errors: SDK and HTTP failures as one-line TargetErrors
- reads: the control-plane reads (routes, BGP peers, tunnel, peering) and the return path
- faults: the fault methods (operator, disable-peering, site-failover-simulation, command),
  each registered once in core.fault_methods
- link_failover: circuit-link-failover (Microsoft's circuit link failover test)
- role: the least-privilege custom role of a fault method, the permissions preflight
- inventory, architecture: the resource group's network resources; the architecture checks
- fit: which scenarios fit the configured method, links and peering locations
- discover, discovered_config, discover_run: `erdrill discover` (reads, the written config)
- target: `AzureTarget`, the drill's Target over all of the above
- face: the lab's Azure face wired in (connections, sessions, journal repair)
"""

from erdrill.targets.azure.arm import ApiStep, Arm, Connection
from erdrill.targets.azure.errors import DisruptionRefused
from erdrill.targets.azure.face import LabFace, arm_connection, make_azure_target, undo_azure_entry
from erdrill.targets.azure.faults import (
    AzureFault,
    Command,
    DisablePeering,
    Operator,
    SiteFailoverSimulation,
)
from erdrill.targets.azure.link_failover import ALL_DISRUPTIVE as DISRUPTIVE
from erdrill.targets.azure.link_failover import ALL_FAULTS as FAULTS
from erdrill.targets.azure.link_failover import ALL_METHODS as FAULT_METHODS
from erdrill.targets.azure.link_failover import CircuitLinkFailover
from erdrill.targets.azure.reads import ControlPlane
from erdrill.targets.azure.target import AzureTarget, Face

__all__ = [
    "DISRUPTIVE",
    "FAULTS",
    "FAULT_METHODS",
    "ApiStep",
    "Arm",
    "AzureFault",
    "AzureTarget",
    "CircuitLinkFailover",
    "Command",
    "Connection",
    "ControlPlane",
    "DisablePeering",
    "DisruptionRefused",
    "Face",
    "LabFace",
    "Operator",
    "SiteFailoverSimulation",
    "arm_connection",
    "make_azure_target",
    "undo_azure_entry",
]
