"""Sealing a finished drill: manifest, signatures and bundle in one step."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from erdrill.reports.integrity.bundle import bundle_drill
from erdrill.reports.integrity.chain import sign_history_head
from erdrill.reports.integrity.errors import EvidenceError
from erdrill.reports.integrity.manifest import SIGNATURE_NAME, write_manifest
from erdrill.reports.integrity.signing import fingerprint, load_private_key

__all__ = [
    "Sealed",
    "seal_drill",
]


@dataclass(frozen=True, slots=True)
class Sealed:
    """What `seal_drill` wrote."""

    manifest: Path
    bundle: Path
    signature: Path | None = None
    history_signature: Path | None = None
    key_fingerprint: str | None = None


def seal_drill(
    run_dir: Path,
    *,
    run_id: str | None = None,
    history: Path | None = None,
    key: Ed25519PrivateKey | Path | None = None,
    bundles_dir: Path | None = None,
) -> Sealed:
    """Seal a drill whose evidence is complete: manifest, signatures, bundle.

    `key` is a loaded key or the path of one (see `signing_key_path`); with a key the
    manifest and the head of `history` are signed. A key that cannot be loaded still
    leaves an unsigned manifest and bundle, then raises EvidenceError naming the key file.
    """
    problem: EvidenceError | None = None
    private: Ed25519PrivateKey | None = None
    if isinstance(key, Path):
        try:
            private = load_private_key(key)
        except EvidenceError as exc:
            problem = exc
    else:
        private = key
    manifest = write_manifest(run_dir, run_id, key=private)
    bundle = bundle_drill(run_dir, bundles_dir)
    head_sig = None
    if private is not None and history is not None and history.exists():
        head_sig = sign_history_head(history, private)
    if problem is not None:
        raise EvidenceError(f"{problem} (drill {run_id or run_dir.name} sealed unsigned)")
    return Sealed(
        manifest=manifest,
        bundle=bundle,
        signature=run_dir / SIGNATURE_NAME if private else None,
        history_signature=head_sig,
        key_fingerprint=fingerprint(private) if private else None,
    )
