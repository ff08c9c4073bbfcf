"""The credential for the lab's Azure face: a static bearer token, for a loopback face only.

Real Azure is reached with azure-identity's DefaultAzureCredential and erdrill stores
nothing. The lab face is no identity provider: it writes a random token into its run
folder (0600) and accepts only that token. `LabFaceCredential` hands that token to the SDK
and refuses to exist for any endpoint that is not https on 127.0.0.1 or localhost, so the
token can never be sent to Azure.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from azure.core.credentials import AccessToken

from erdrill.core.errors import TargetError

__all__ = ["LabFaceCredential", "is_loopback_endpoint"]


def is_loopback_endpoint(endpoint: str) -> bool:
    """True for https://127.0.0.1:PORT or https://localhost:PORT."""
    parts = urlsplit(endpoint)
    return parts.scheme == "https" and parts.hostname in {"127.0.0.1", "localhost", "::1"}


class LabFaceCredential:
    """A TokenCredential with one static token, valid only for a loopback face endpoint."""

    def __init__(self, token: str, endpoint: str) -> None:
        if not is_loopback_endpoint(endpoint):
            raise TargetError(
                f"lab face credential: endpoint {endpoint!r} is not a loopback https URL; "
                "real Azure uses DefaultAzureCredential"
            )
        if not token:
            raise TargetError("lab face credential: empty token; is the lab face running?")
        self._token = token

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def close(self) -> None:
        """Nothing to release."""

    def __enter__(self) -> LabFaceCredential:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
