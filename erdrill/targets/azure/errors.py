"""One-line TargetErrors from SDK and HTTP failures, each naming the fix.

A 401 names the credential, a 403 the RBAC permission, a 404 the resource and the config
field naming it; a throttled or failing call says how often it was tried; a body of the
wrong shape names the API version erdrill speaks.
"""

from __future__ import annotations

from typing import Any

from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    DeserializationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from pydantic import ValidationError

from erdrill.core.config import AzureConfig
from erdrill.core.errors import ErdrillError, TargetError

__all__ = [
    "OPERATIONS",
    "RETRY_STATUS",
    "DisruptionRefused",
    "PermissionsMissing",
    "PreconditionFailed",
    "ShapeError",
    "conflicting",
    "error_code",
    "error_message",
    "explain",
    "first_line",
    "retry_after",
    "retryable",
]

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})

# operation -> (RBAC action needed, config field naming the resource)
OPERATIONS: dict[str, tuple[str, str]] = {
    "effective routes": ("Microsoft.Network/networkInterfaces/effectiveRouteTable/action", "nic"),
    "learned routes": (
        "Microsoft.Network/virtualNetworkGateways/getLearnedRoutes/action",
        "er_gateway/vpn_gateway",
    ),
    "BGP peer status": (
        "Microsoft.Network/virtualNetworkGateways/getBgpPeerStatus/action",
        "er_gateway/vpn_gateway",
    ),
    "VPN connection": ("Microsoft.Network/connections/read", "vpn_connection"),
    "peering read": ("Microsoft.Network/expressRouteCircuits/peerings/read", "circuit/peering"),
    "peering write": ("Microsoft.Network/expressRouteCircuits/peerings/write", "circuit/peering"),
    "site failover start": (
        "Microsoft.Network/virtualNetworkGateways/startSiteFailoverTest/action",
        "er_gateway",
    ),
    "site failover details": (
        "Microsoft.Network/virtualNetworkGateways/getFailoverAllTestsDetails/action",
        "er_gateway",
    ),
    "site failover stop": (
        "Microsoft.Network/virtualNetworkGateways/stopSiteFailoverTest/action",
        "er_gateway",
    ),
}


class DisruptionRefused(ErdrillError):
    """A disruptive fault was asked for without allow_disruption."""


class PermissionsMissing(TargetError):
    """The identity lacks an action the fault method needs (the preflight, before any write)."""


class PreconditionFailed(TargetError):
    """412: the resource changed since its etag was read (If-Match did not match)."""


class ShapeError(Exception):
    """A response body that does not have the shape the API version promises."""


_SHAPE_ERRORS = (
    DecodeError,
    DeserializationError,
    ShapeError,
    ValidationError,
    ValueError,
    KeyError,
    TypeError,
    AttributeError,
)


def retry_after(exc: BaseException | None) -> float | None:
    """The seconds an HTTP error's Retry-After (or -ms) header asks for, if any."""
    if not isinstance(exc, HttpResponseError) or exc.response is None:
        return None
    headers: Any = getattr(exc.response, "headers", {})
    for name, scale in (
        ("retry-after-ms", 1000.0),
        ("x-ms-retry-after-ms", 1000.0),
        ("retry-after", 1.0),
    ):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / scale)
            except ValueError:
                return None
    return None


def retryable(exc: BaseException, retry_after_cap_s: float) -> bool:
    """Connection errors and 429/5xx, unless the server asks to wait longer than the cap."""
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return True
    if isinstance(exc, HttpResponseError) and exc.status_code in RETRY_STATUS:
        after = retry_after(exc)
        return not (after is not None and after > retry_after_cap_s)
    return False


def conflicting(exc: BaseException | None) -> bool:
    """A 409 AnotherOperationInProgress: an earlier write on the resource still runs."""
    return (
        isinstance(exc, HttpResponseError)
        and exc.status_code == 409
        and error_code(exc) == "AnotherOperationInProgress"
    )


def ended_as(exc: HttpResponseError) -> str | None:
    """'Failed: CODE: message' when a long-running operation ended Failed or Canceled."""
    response: Any = exc.response
    try:
        body = response.json() if response is not None else None
    except Exception:
        return None
    if not isinstance(body, dict) or body.get("status") not in ("Failed", "Canceled"):
        return None
    found = body.get("error")
    err: dict[str, Any] = found if isinstance(found, dict) else {}
    return (
        f"{body['status']}: {err.get('code', 'no error code')}: "
        f"{first_line(str(err.get('message', '')))}"
    )


def error_code(exc: Exception) -> str:
    """ARM's error code, else the HTTP reason, else the exception's type."""
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None)
    if code:
        return str(code)
    reason = getattr(exc, "reason", None)
    return str(reason or type(exc).__name__)


def error_message(exc: Exception) -> str:
    """ARM's error message (first line), else the exception's."""
    err = getattr(exc, "error", None)
    return first_line(str(getattr(err, "message", None) or exc))


def first_line(text: str) -> str:
    """The first non-blank line, at most 240 characters."""
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:240]


def _http(action: str, detail: str, exc: HttpResponseError, cfg: AzureConfig) -> TargetError:
    status = exc.status_code
    ended = ended_as(exc)
    if ended is not None:
        return TargetError(f"azure: {action} ({detail}): the operation ended {ended}")
    if status is None or status < 400:
        return TargetError(
            f"azure: {action} ({detail}): unexpected response: {first_line(str(exc))}"
        )
    if status in RETRY_STATUS:
        after = retry_after(exc)
        if after is not None and after > cfg.retry_after_cap_s:
            return TargetError(
                f"azure: {action}: HTTP {status}, Retry-After {after:g} s exceeds "
                f"retry_after_cap_s {cfg.retry_after_cap_s:g}; try again later"
            )
        return TargetError(
            f"azure: {action}: HTTP {status} ({error_code(exc)}) after "
            f"{cfg.retry_attempts} attempts; try again later"
        )
    return TargetError(f"azure: {action}: HTTP {status} {error_code(exc)}: {error_message(exc)}")


def explain(
    action: str, detail: str, exc: Exception, cfg: AzureConfig, endpoint: str
) -> TargetError:
    """The one-line TargetError for an API call `action` on `detail` that raised `exc`."""
    perm, field_name = OPERATIONS.get(action, ("", ""))
    if isinstance(exc, _SHAPE_ERRORS):
        return TargetError(
            f"azure: {action} ({detail}): unexpected response shape: {first_line(str(exc))}; "
            "the face or API version may not match azure-mgmt-network 33.1.0 (api 2026-03-01)"
        )
    status = exc.status_code if isinstance(exc, HttpResponseError) else None
    if isinstance(exc, ClientAuthenticationError) or status == 401:
        return TargetError(
            f"azure: {action}: 401 not authenticated ({error_code(exc)}); sign in (az login) or "
            "fix the credential DefaultAzureCredential uses (the lab face: its token)"
        )
    if status == 403:
        return TargetError(
            f"azure: {action} ({detail}): 403 forbidden ({error_code(exc)}); grant the identity "
            f"{perm or 'the needed permission'} on resource group {cfg.resource_group}"
        )
    if status == 412:
        return PreconditionFailed(
            f"azure: {action} ({detail}): 412 {error_code(exc)}: the resource changed since "
            "it was read (If-Match did not match)"
        )
    if isinstance(exc, ResourceNotFoundError) or status == 404:
        return TargetError(
            f"azure: {action}: 404 not found: {detail} ({error_code(exc)}: "
            f"{error_message(exc)}); check [azure] {field_name or 'resource names'}, "
            "resource_group and subscription_id"
        )
    if isinstance(exc, HttpResponseError):
        return _http(action, detail, exc, cfg)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TargetError(f"azure: {action}: cannot reach {endpoint}: {first_line(str(exc))}")
    name = type(exc).__name__
    if name == "CredentialUnavailableError":
        return TargetError(
            "azure: no credential: DefaultAzureCredential found none; run az login or set "
            "AZURE_CLIENT_ID/AZURE_TENANT_ID/AZURE_CLIENT_SECRET"
        )
    return TargetError(f"azure: {action}: {name}: {first_line(str(exc))}")
