"""Drill manifests: `manifest.json` lists SHA-256 and size of every file of a drill folder.

With a key the manifest's exact bytes are signed in ``manifest.sig`` beside it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from erdrill.reports.integrity.files import CHUNK, write_bytes
from erdrill.reports.integrity.signing import fingerprint, signature_doc

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA",
    "SEAL_FILES",
    "SIGNATURE_NAME",
    "build_manifest",
    "hash_folder",
    "odd_entries",
    "sign_manifest",
    "write_manifest",
]

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
MANIFEST_SCHEMA = "erdrill.manifest/1"
_SIGNATURE_SCHEMA = "erdrill.signature/1"
SEAL_FILES = frozenset({MANIFEST_NAME, SIGNATURE_NAME})


def build_manifest(
    run_dir: Path,
    run_id: str | None = None,
    *,
    key_fingerprint: str | None = None,
    created: datetime | None = None,
) -> dict[str, Any]:
    """The manifest of `run_dir`: every regular file but the manifest and its signature."""
    files = [
        {"path": rel, "sha256": digest, "size": size}
        for rel, (digest, size) in sorted(hash_folder(run_dir).items())
        if rel not in SEAL_FILES
    ]
    when = created or datetime.now(UTC)
    return {
        "schema": MANIFEST_SCHEMA,
        "run_id": run_id or run_dir.name,
        "created_at": when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "algorithm": "sha256",
        "key_fingerprint": key_fingerprint,
        "files": files,
    }


def write_manifest(
    run_dir: Path,
    run_id: str | None = None,
    *,
    key: Ed25519PrivateKey | None = None,
    created: datetime | None = None,
) -> Path:
    """Write `run_dir`/manifest.json (and manifest.sig with `key`); return the manifest path.

    A stale manifest.sig from an earlier seal is removed when no key is given.
    """
    manifest = build_manifest(
        run_dir, run_id, key_fingerprint=fingerprint(key) if key else None, created=created
    )
    path = run_dir / MANIFEST_NAME
    write_bytes(path, _manifest_bytes(manifest))
    if key is not None:
        sign_manifest(path, key)
    else:
        (run_dir / SIGNATURE_NAME).unlink(missing_ok=True)
    return path


def sign_manifest(manifest: Path, key: Ed25519PrivateKey) -> Path:
    """Write manifest.sig beside `manifest`: a detached signature over its exact bytes."""
    sig = manifest.with_name(SIGNATURE_NAME)
    write_bytes(
        sig,
        signature_doc(key, manifest.read_bytes(), schema=_SIGNATURE_SCHEMA, signed=manifest.name),
    )
    return sig


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")


def hash_folder(run_dir: Path) -> dict[str, tuple[str, int]]:
    """{relative path: (SHA-256 hex, size)} of every regular file below `run_dir`."""
    out: dict[str, tuple[str, int]] = {}
    for rel, path in _regular_files(run_dir):
        h = hashlib.sha256()
        size = 0
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                size += len(chunk)
        out[rel] = (h.hexdigest(), size)
    return out


def _regular_files(run_dir: Path) -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for root, dirs, names in os.walk(run_dir):
        dirs.sort()
        for name in sorted(names):
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                found.append((path.relative_to(run_dir).as_posix(), path))
    return found


def odd_entries(run_dir: Path) -> list[str]:
    """Symlinks, devices, sockets... in `run_dir`: never evidence."""
    odd: list[str] = []
    for root, dirs, names in os.walk(run_dir):
        for name in [*dirs, *names]:
            path = Path(root) / name
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                odd.append(path.relative_to(run_dir).as_posix())
    return sorted(odd)
