"""Scrub secrets from everything the reports write: attachments, properties, history.

Three layers, applied by `redact` and `redact_data`:

1. literal secrets: values passed in, values registered with `register_secret`, and the
   values of environment variables whose names look secret (``*_PSK``, ``*_SECRET``,
   ``*_TOKEN``, ``*_PASSWORD``, ``AZURE_CLIENT_SECRET``, ...);
2. patterns: ``Bearer <token>``, JWTs, and ``key = value`` / ``"key": "value"`` pairs
   whose key names a secret (``psk``, ``secret``, ``client_secret``, ``password``, ...);
3. in structured data, every value stored under a secret-looking key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "known_secrets",
    "redact",
    "redact_data",
    "register_secret",
]

REDACTED = "[REDACTED]"
MIN_SECRET_LENGTH = 6  # shorter literals would scrub ordinary words and numbers

_SECRET_NAME = re.compile(
    r"(secret|token|password|passwd|passphrase|psk|pre_?shared|shared_?key|private_?key"
    r"|api_?key|access_?key|credential|authorization|connection_?string|\bsig\b)",
    re.IGNORECASE,
)
_ENV_SECRET_NAME = re.compile(
    r"(SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|PSK|PRESHARED|SHARED_KEY|PRIVATE_KEY|API_KEY"
    r"|ACCESS_KEY|CREDENTIAL|CONNECTION_STRING)",
)
_KEY_WORDS = (
    r"client_secret|clientSecret|secret|psk|pre_?shared_?key|shared_?key|sharedKey|password"
    r"|passwd|passphrase|access_token|refresh_token|id_token|token|api_?key|sig"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer eyJ... / Basic ...
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{6,}=*"), rf"\1 {REDACTED}"),
    # JSON Web Tokens wherever they appear
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    # "client_secret": "..." (JSON) and secret = "..." (swanctl.conf, ini, query strings, env),
    # also with a prefix: AZURE_CLIENT_SECRET=..., vpn.psk: ...
    (
        re.compile(rf"(?i)(\"[\w.-]*(?:{_KEY_WORDS})\"\s*:\s*)\"(?:[^\"\\]|\\.)*\""),
        rf'\1"{REDACTED}"',
    ),
    (
        re.compile(
            rf"(?i)(\b[\w.-]*(?:{_KEY_WORDS})\b\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&\"'}}]+)"
        ),
        rf"\1{REDACTED}",
    ),
)

_registered: set[str] = set()


def register_secret(*values: str | None) -> None:
    """Remember secrets (PSKs, tokens) for every later `redact` call in this process."""
    for value in values:
        if value and len(value) >= MIN_SECRET_LENGTH:
            _registered.add(value)


def known_secrets(environ: Mapping[str, str] | None = None) -> set[str]:
    """Registered secrets plus the values of secret-looking environment variables."""
    env = os.environ if environ is None else environ
    found = set(_registered)
    for name, value in env.items():
        if _ENV_SECRET_NAME.search(name.upper()) and len(value) >= MIN_SECRET_LENGTH:
            found.add(value)
    return found


def redact(text: str, secrets: Iterable[str | None] | None = None) -> str:
    """Return `text` with every secret replaced by ``[REDACTED]``.

    `secrets` adds literals to the known ones (registered and from the environment); the
    known ones are always applied, so callers cannot forget them.
    """
    literals = known_secrets() | {s for s in (secrets or ()) if s and len(s) >= MIN_SECRET_LENGTH}
    for literal in sorted(literals, key=len, reverse=True):  # longest first: no partial leftovers
        text = text.replace(literal, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_data(data: Any, secrets: Iterable[str | None] | None = None) -> Any:
    """Return a copy of JSON-like `data` with secret values and secret-keyed fields scrubbed."""
    frozen = tuple(secrets or ())
    if isinstance(data, Mapping):
        out: dict[str, Any] = {}
        for key, value in data.items():
            k = str(key)
            if _SECRET_NAME.search(k) and value not in (None, "", [], {}):
                out[k] = REDACTED
            else:
                out[k] = redact_data(value, frozen)
        return out
    if isinstance(data, list | tuple):
        return [redact_data(v, frozen) for v in data]
    if isinstance(data, str):
        return redact(data, frozen)
    return data
