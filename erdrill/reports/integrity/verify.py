"""Verifying evidence: drill folders and bundles against their manifests, any path given."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from erdrill.reports.integrity.bundle import BUNDLE_SUFFIX
from erdrill.reports.integrity.errors import EvidenceError, Finding, ItemReport
from erdrill.reports.integrity.files import read_optional
from erdrill.reports.integrity.history_check import verify_history
from erdrill.reports.integrity.manifest import (
    MANIFEST_NAME,
    MANIFEST_SCHEMA,
    SEAL_FILES,
    SIGNATURE_NAME,
    hash_folder,
    odd_entries,
)
from erdrill.reports.integrity.signing import check_signature, fingerprint

__all__ = [
    "verify_bundle",
    "verify_drill_folder",
    "verify_paths",
]


def verify_paths(paths: Sequence[Path], key: Ed25519PublicKey | None = None) -> list[ItemReport]:
    """Verify each path: a drill folder, a folder of drill folders, a bundle or a history.

    Raises EvidenceError (exit 2) for a path that is none of those.
    """
    reports: list[ItemReport] = []
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise EvidenceError(
                f"verify: {path}: no such file or folder; pass a drill folder "
                "(reports/drills/<run-id>), a bundle (reports/bundles/<run-id>.tar.gz) "
                "or a history file (reports/history/drills.jsonl)"
            )
        if path.is_dir():
            if (path / MANIFEST_NAME).exists() or (path / "drill.json").exists():
                reports.append(verify_drill_folder(path, key))
                continue
            children = sorted(
                p
                for p in path.iterdir()
                if p.is_dir() and ((p / MANIFEST_NAME).exists() or (p / "drill.json").exists())
            )
            bundles = sorted(p for p in path.iterdir() if p.name.endswith(BUNDLE_SUFFIX))
            if not children and not bundles:
                raise EvidenceError(
                    f"verify: {path}: holds no drill folder (manifest.json or drill.json) "
                    "and no bundle; pass reports/drills/<run-id> or reports/bundles"
                )
            reports += [verify_drill_folder(c, key) for c in children]
            reports += [verify_bundle(b, key) for b in bundles]
        elif path.name.endswith((BUNDLE_SUFFIX, ".tgz")):
            reports.append(verify_bundle(path, key))
        elif path.name == MANIFEST_NAME:
            reports.append(verify_drill_folder(path.parent, key))
        elif path.suffix == ".jsonl":
            reports.append(verify_history(path, key))
        else:
            raise EvidenceError(
                f"verify: {path}: not a drill folder, a bundle ({BUNDLE_SUFFIX}) "
                "or a history file (.jsonl); pass one of those"
            )
    return reports


def verify_drill_folder(run_dir: Path, key: Ed25519PublicKey | None = None) -> ItemReport:
    """Check every file of `run_dir` against its manifest (and the signature with `key`)."""
    report = ItemReport(str(run_dir), "drill folder")
    manifest_bytes = read_optional(run_dir / MANIFEST_NAME)
    signature = read_optional(run_dir / SIGNATURE_NAME)
    actual = {rel: d for rel, d in hash_folder(run_dir).items() if rel not in SEAL_FILES}
    for rel in odd_entries(run_dir):
        report.findings.append(
            Finding("added", str(run_dir / rel), "not a regular file (symlink or device)")
        )
    _compare(
        report,
        lambda rel: str(run_dir / rel),
        run_dir.name,
        manifest_bytes,
        signature,
        actual,
        key,
    )
    return report


def verify_bundle(path: Path, key: Ed25519PublicKey | None = None) -> ItemReport:
    """Check a bundle's members against the manifest inside it (and its signature)."""
    report = ItemReport(str(path), "bundle")
    root, members, structural = _read_bundle(path)
    report.findings += structural
    if root is None and not members:
        if not structural:
            report.findings.append(Finding("missing", str(path), "empty bundle: no drill folder"))
        return report
    actual = {
        rel: (hashlib.sha256(data).hexdigest(), len(data))
        for rel, data in members.items()
        if rel not in SEAL_FILES
    }
    stem = path.name.removesuffix(BUNDLE_SUFFIX).removesuffix(".tgz")
    if root is not None and root != stem:
        report.findings.append(
            Finding("altered", str(path), f"holds drill folder {root!r}, its name says {stem!r}")
        )
    _compare(
        report,
        lambda rel: f"{path}:{root}/{rel}",
        root or stem,
        members.get(MANIFEST_NAME),
        members.get(SIGNATURE_NAME),
        actual,
        key,
    )
    return report


def _compare(
    report: ItemReport,
    where: Callable[[str], str],
    run_id: str,
    manifest_bytes: bytes | None,
    signature: bytes | None,
    actual: Mapping[str, tuple[str, int]],
    key: Ed25519PublicKey | None,
) -> None:
    findings = report.findings
    if manifest_bytes is None:
        findings.append(
            Finding(
                "missing",
                where(MANIFEST_NAME),
                "no manifest: the drill was never sealed or its manifest was deleted",
            )
        )
        return
    try:
        manifest = json.loads(manifest_bytes)
        listed = {str(f["path"]): (str(f["sha256"]), int(f["size"])) for f in manifest["files"]}
        if manifest.get("schema") != MANIFEST_SCHEMA:
            raise ValueError(manifest.get("schema"))
    except (ValueError, KeyError, TypeError):
        findings.append(Finding("altered", where(MANIFEST_NAME), "not a manifest erdrill wrote"))
        return
    if str(manifest.get("run_id")) != run_id:
        findings.append(
            Finding(
                "altered",
                where(MANIFEST_NAME),
                f"seals run {manifest.get('run_id')!r}, but sits in {run_id!r}",
            )
        )
    for rel, (digest, size) in sorted(listed.items()):
        if rel not in actual:
            findings.append(Finding("missing", where(rel), "listed in the manifest, not present"))
            continue
        got_digest, got_size = actual[rel]
        if got_digest != digest:
            sizes = f"{size} bytes" if got_size == size else f"{size} -> {got_size} bytes"
            findings.append(
                Finding("altered", where(rel), f"SHA-256 differs from the manifest ({sizes})")
            )
    for rel in sorted(set(actual) - set(listed)):
        findings.append(Finding("added", where(rel), "not in the manifest"))
    named = manifest.get("key_fingerprint")
    if key is not None:
        if signature is None:
            findings.append(
                Finding(
                    "unsigned", where(SIGNATURE_NAME), "missing, but --key asks for a signature"
                )
            )
        elif (
            bad := check_signature(where(SIGNATURE_NAME), signature, manifest_bytes, key)
        ) is not None:
            findings.append(bad)
    elif signature is not None:
        findings.append(
            Finding("note", where(SIGNATURE_NAME), f"signed by key {named}; pass --key to check it")
        )
    signed = f"; signature good (key {fingerprint(key)})" if key is not None and report.ok else ""
    report.summary = f"{len(listed)} files match the manifest of run {run_id}{signed}"


def _read_bundle(
    path: Path,
) -> tuple[str | None, dict[str, bytes], list[Finding]]:
    """(root folder, {member path below the root: bytes}, structural findings)."""
    members: dict[str, bytes] = {}
    findings: list[Finding] = []
    roots: set[str] = set()
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for info in tar:
                name = info.name
                where = f"{path}:{name}"
                parts = name.split("/")
                if info.isdir() and not name.startswith("/") and ".." not in parts:
                    continue
                if name.startswith("/") or ".." in parts or len(parts) < 2:
                    findings.append(Finding("added", where, "member outside the drill folder"))
                    continue
                if not info.isfile():
                    findings.append(Finding("added", where, "not a regular file (link or device)"))
                    continue
                roots.add(parts[0])
                rel = "/".join(parts[1:])
                if rel in members:
                    findings.append(Finding("altered", where, "member appears twice in the bundle"))
                f = tar.extractfile(info)
                members[rel] = f.read() if f is not None else b""
    except (OSError, tarfile.TarError, EOFError) as exc:
        findings.append(Finding("altered", str(path), f"not a readable .tar.gz bundle ({exc})"))
        return None, {}, findings
    if len(roots) > 1:
        findings.append(
            Finding("added", str(path), f"more than one drill folder: {', '.join(sorted(roots))}")
        )
    return (min(roots) if roots else None), members, findings
