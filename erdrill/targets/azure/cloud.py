"""Which Azure cloud: the ARM endpoint, the sign-in authority and the token scope.

Taken from the SDK's own tables (azure-mgmt-core's `get_arm_endpoints`, azure-identity's
`AzureAuthorityHosts`), never typed in here, so a sovereign cloud is one config word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azure.core import AzureClouds
from azure.identity import AzureAuthorityHosts
from azure.mgmt.core.tools import get_arm_endpoints

from erdrill.core.config import AzureConfig

__all__ = ["CLOUDS", "Cloud", "cloud_of", "credential_options", "endpoint_of", "scope_for"]

# The config's `cloud` names (Azure CLI's `az cloud list`) -> the SDK's cloud and authority.
CLOUDS: dict[str, tuple[AzureClouds, str]] = {
    "AzureCloud": (AzureClouds.AZURE_PUBLIC_CLOUD, AzureAuthorityHosts.AZURE_PUBLIC_CLOUD),
    "AzureUSGovernment": (AzureClouds.AZURE_US_GOVERNMENT, AzureAuthorityHosts.AZURE_GOVERNMENT),
    "AzureChinaCloud": (AzureClouds.AZURE_CHINA_CLOUD, AzureAuthorityHosts.AZURE_CHINA),
}


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_endpoint: str  # without the trailing slash
    authority_host: str
    scope: str


def cloud_of(name: str) -> Cloud:
    """The endpoints of a cloud by its config name (AzureCloud, AzureUSGovernment, ...)."""
    sdk, authority = CLOUDS[name]
    arm = get_arm_endpoints(sdk)
    return Cloud(
        name, str(arm["resource_manager"]).rstrip("/"), authority, arm["credential_scopes"][0]
    )


def endpoint_of(cfg: AzureConfig) -> str:
    """An `arm_endpoint` set in the config wins; otherwise the cloud's."""
    if "arm_endpoint" in cfg.model_fields_set:
        return cfg.arm_endpoint
    return cloud_of(cfg.cloud).arm_endpoint


def scope_for(endpoint: str, cfg: AzureConfig) -> str:
    """The token scope: the cloud's for its own ARM endpoint, else `<endpoint>/.default`."""
    cloud = cloud_of(cfg.cloud)
    if endpoint.rstrip("/") == cloud.arm_endpoint:
        return cloud.scope
    return f"{endpoint.rstrip('/')}/.default"


def credential_options(cfg: AzureConfig) -> dict[str, Any]:
    """Keyword arguments for DefaultAzureCredential: the cloud's authority and the tenant."""
    options: dict[str, Any] = {"authority": cloud_of(cfg.cloud).authority_host}
    if cfg.tenant_id:
        for key in (
            "interactive_browser_tenant_id",
            "workload_identity_tenant_id",
            "shared_cache_tenant_id",
            "visual_studio_code_tenant_id",
        ):
            options[key] = cfg.tenant_id
    return options
