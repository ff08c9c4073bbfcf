"""Each cloud setting gives the SDK's own ARM endpoint, sign-in authority and token scope."""

from __future__ import annotations

import pytest
from azure.core import AzureClouds
from azure.identity import AzureAuthorityHosts
from azure.mgmt.core.tools import get_arm_endpoints

from erdrill.core.config import AzureConfig
from erdrill.targets.azure.cloud import cloud_of, credential_options, endpoint_of, scope_for

BASE = {
    "subscription_id": "00000000-0000-4000-8000-00000000e7d1",
    "resource_group": "rg",
    "circuit": "er",
    "er_gateway": "ergw",
    "vpn_gateway": "vpngw",
    "vpn_connection": "s2s",
    "nic": "nic",
    "onprem_prefixes": ["192.168.10.0/24"],
}


@pytest.mark.parametrize(
    ("cloud", "arm", "authority", "scope"),
    [
        ("AzureCloud", "https://management.azure.com", "login.microsoftonline.com",
         "https://management.azure.com/.default"),
        ("AzureUSGovernment", "https://management.usgovcloudapi.net", "login.microsoftonline.us",
         "https://management.core.usgovcloudapi.net/.default"),
        ("AzureChinaCloud", "https://management.chinacloudapi.cn", "login.chinacloudapi.cn",
         "https://management.chinacloudapi.cn/.default"),
    ],
)  # fmt: skip
def test_cloud_endpoints(cloud: str, arm: str, authority: str, scope: str) -> None:
    cfg = AzureConfig.model_validate({**BASE, "cloud": cloud})
    c = cloud_of(cloud)
    assert (c.arm_endpoint, c.authority_host, c.scope) == (arm, authority, scope)
    assert endpoint_of(cfg) == arm and scope_for(arm, cfg) == scope
    assert credential_options(cfg) == {"authority": authority}


def test_the_values_are_the_sdks_own() -> None:
    gov = get_arm_endpoints(AzureClouds.AZURE_US_GOVERNMENT)
    assert cloud_of("AzureUSGovernment").scope == gov["credential_scopes"][0]
    assert cloud_of("AzureChinaCloud").authority_host == AzureAuthorityHosts.AZURE_CHINA


def test_an_explicit_endpoint_wins_and_gets_its_own_scope() -> None:
    cfg = AzureConfig.model_validate(
        {**BASE, "cloud": "AzureUSGovernment", "arm_endpoint": "https://arm.example.net"}
    )
    assert endpoint_of(cfg) == "https://arm.example.net"
    assert scope_for("https://arm.example.net", cfg) == "https://arm.example.net/.default"


def test_tenant_id_reaches_every_credential_that_takes_one() -> None:
    cfg = AzureConfig.model_validate({**BASE, "tenant_id": "11111111-2222-4333-8444-555555555555"})
    opts = credential_options(cfg)
    assert opts["workload_identity_tenant_id"] == "11111111-2222-4333-8444-555555555555"
    assert opts["interactive_browser_tenant_id"] == opts["shared_cache_tenant_id"]


def test_an_unknown_cloud_is_a_validation_error() -> None:
    with pytest.raises(ValueError, match="cloud"):
        AzureConfig.model_validate({**BASE, "cloud": "AzureGermanCloud"})
