"""Ed25519 keys for evidence: generating, loading, fingerprints, detached signatures.

Nothing here reads or logs the private key beyond loading it; messages name its path only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from erdrill.reports.integrity.errors import EvidenceError, Finding
from erdrill.reports.integrity.files import write_bytes

__all__ = [
    "SIGNING_KEY_ENV",
    "check_signature",
    "fingerprint",
    "generate_key",
    "load_private_key",
    "load_public_key",
    "signature_doc",
    "signing_key_path",
]

SIGNING_KEY_ENV = "ERDRILL_SIGNING_KEY"
"""Names the private key (PEM) the drill signs with; unset means unsigned evidence."""


def fingerprint(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex, first 16 characters."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate_key(path: Path, *, force: bool = False) -> tuple[Path, Path, str]:
    """Write a new private key at `path` (PEM, mode 0600) and its public key at `path`.pub.

    Returns (private path, public path, fingerprint). Refuses to overwrite unless `force`.
    """
    public_path = path.with_name(path.name + ".pub")
    for p in (path, public_path):
        if p.exists() and not force:
            raise EvidenceError(
                f"keygen: {p} exists; choose another path or pass --force to replace the key"
            )
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        write_bytes(path, private_pem, mode=0o600)
        write_bytes(public_path, public_pem, mode=0o644)
    except OSError as exc:
        raise EvidenceError(f"keygen: cannot write {exc.filename}: {exc.strerror}") from exc
    return path, public_path, fingerprint(key)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in PEM file `path`; refuses a file others can read."""
    try:
        mode = path.stat().st_mode
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            f"signing key {path}: cannot read: {exc.strerror}; "
            f"set {SIGNING_KEY_ENV} to a key written by `erdrill keygen`"
        ) from exc
    if mode & 0o077:
        raise EvidenceError(
            f"signing key {path}: readable by others (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}`"
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise EvidenceError(
            f"signing key {path}: not an unencrypted PEM private key; "
            "write one with `erdrill keygen PATH`"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise EvidenceError(
            f"signing key {path}: not an Ed25519 key; write one with `erdrill keygen PATH`"
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in PEM file `path` (a private key file is accepted too)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(
            f"--key {path}: cannot read: {exc.strerror}; pass the .pub file `erdrill keygen` wrote"
        ) from exc
    key: object
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise EvidenceError(
                f"--key {path}: not a PEM public key; pass the .pub file `erdrill keygen` wrote"
            ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise EvidenceError(
            f"--key {path}: not an Ed25519 key; pass the .pub file `erdrill keygen` wrote"
        )
    return key


def signing_key_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """The private key named by $ERDRILL_SIGNING_KEY, or None when unset or empty."""
    value = (os.environ if environ is None else environ).get(SIGNING_KEY_ENV, "").strip()
    return Path(value) if value else None


def signature_doc(key: Ed25519PrivateKey, message: bytes, **extra: Any) -> bytes:
    """A signature file (JSON): `message` signed with `key`, its fingerprint and `extra`."""
    doc = {
        "algorithm": "Ed25519",
        "key_fingerprint": fingerprint(key),
        **extra,
        "signature": base64.b64encode(key.sign(message)).decode("ascii"),
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def check_signature(
    where: str, doc_bytes: bytes, message: bytes, key: Ed25519PublicKey
) -> Finding | None:
    """None if `doc_bytes` (a signature file) signs `message` with `key`, else the finding."""
    try:
        doc = json.loads(doc_bytes)
        signature = base64.b64decode(str(doc["signature"]), validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return Finding("altered", where, "not a signature file erdrill wrote")
    try:
        key.verify(signature, message)
    except InvalidSignature:
        named = doc.get("key_fingerprint") if isinstance(doc, dict) else None
        return Finding(
            "bad-signature",
            where,
            f"does not verify with key {fingerprint(key)}"
            + (f" (it names key {named})" if named else ""),
        )
    return None
