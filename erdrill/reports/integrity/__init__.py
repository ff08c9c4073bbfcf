"""Tamper-evident evidence: drill manifests, the hash-chained history, signatures, bundles.

* A drill folder is sealed by `manifest.json`: SHA-256 and size of every file in it.
* Each line of the drill history holds ``prev`` (SHA-256 of the previous line's bytes,
  `GENESIS` for the first) and ``hash`` (SHA-256 of its own canonical content), so a
  changed, deleted, inserted or reordered line breaks the chain at a known place.
* With an Ed25519 key (`generate_key`, $ERDRILL_SIGNING_KEY) the manifest is signed
  (``manifest.sig``) and so is the history head (``drills.jsonl.sig``).
* `bundle_drill` packs a sealed folder into a reproducible ``<run-id>.tar.gz``.
* `verify_paths` checks folders, bundles and histories and names every finding.

The submodules each do one job; this package re-exports their public API.
"""

from __future__ import annotations

from erdrill.reports.integrity.bundle import BUNDLE_SUFFIX, bundle_drill
from erdrill.reports.integrity.chain import (
    CHAIN_FIELDS,
    GENESIS,
    chain_entry,
    chained_payload,
    entry_hash,
    history_signature_path,
    last_line,
    sign_history_head,
    strip_chain,
)
from erdrill.reports.integrity.errors import (
    EXIT_ALTERED,
    EvidenceAltered,
    EvidenceError,
    Finding,
    ItemReport,
)
from erdrill.reports.integrity.history_check import verify_history
from erdrill.reports.integrity.manifest import (
    MANIFEST_NAME,
    MANIFEST_SCHEMA,
    SIGNATURE_NAME,
    build_manifest,
    sign_manifest,
    write_manifest,
)
from erdrill.reports.integrity.seal import Sealed, seal_drill
from erdrill.reports.integrity.signing import (
    SIGNING_KEY_ENV,
    fingerprint,
    generate_key,
    load_private_key,
    load_public_key,
    signing_key_path,
)
from erdrill.reports.integrity.verify import verify_bundle, verify_drill_folder, verify_paths

__all__ = [
    "BUNDLE_SUFFIX",
    "CHAIN_FIELDS",
    "EXIT_ALTERED",
    "GENESIS",
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA",
    "SIGNATURE_NAME",
    "SIGNING_KEY_ENV",
    "EvidenceAltered",
    "EvidenceError",
    "Finding",
    "ItemReport",
    "Sealed",
    "build_manifest",
    "bundle_drill",
    "chain_entry",
    "chained_payload",
    "entry_hash",
    "fingerprint",
    "generate_key",
    "history_signature_path",
    "last_line",
    "load_private_key",
    "load_public_key",
    "seal_drill",
    "sign_history_head",
    "sign_manifest",
    "signing_key_path",
    "strip_chain",
    "verify_bundle",
    "verify_drill_folder",
    "verify_history",
    "verify_paths",
    "write_manifest",
]
