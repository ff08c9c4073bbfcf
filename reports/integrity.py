"""Tamper-evident evidence: drill manifests, the hash-chained history, signatures, bundles.

* A drill folder is sealed by `manifest.json`: SHA-256 and size of every file in it.
* Each line of the drill history holds ``prev`` (SHA-256 of the previous line's bytes,
  `GENESIS` for the first) and ``hash`` (SHA-256 of its own canonical content), so a
  changed, deleted, inserted or reordered line breaks the chain at a known place.
* With an Ed25519 key (`generate_key`, $ERDRILL_SIGNING_KEY) the manifest is signed
  (``manifest.sig``) and so is the history head (``drills.jsonl.sig``).
* `bundle_drill` packs a sealed folder into a reproducible ``<run-id>.tar.gz``.
* `verify_paths` checks folders, bundles and histories and names every finding.

Nothing here reads or logs the private key beyond loading it; messages name its path only.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import ErdrillError

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

MANIFEST_NAME = "manifest.json"
SIGNATURE_NAME = "manifest.sig"
MANIFEST_SCHEMA = "erdrill.manifest/1"
_SIGNATURE_SCHEMA = "erdrill.signature/1"
_HEAD_SCHEMA = "erdrill.history-head/1"
BUNDLE_SUFFIX = ".tar.gz"
SIGNING_KEY_ENV = "ERDRILL_SIGNING_KEY"
"""Names the private key (PEM) the drill signs with; unset means unsigned evidence."""
GENESIS = "0" * 64
"""The ``prev`` of the first line of a history."""
CHAIN_FIELDS = ("prev", "hash")
EXIT_ALTERED = 1
"""`erdrill verify`'s exit code when any evidence is altered, missing, added or unsigned."""
_SEAL_FILES = frozenset({MANIFEST_NAME, SIGNATURE_NAME})
_CHUNK = 1 << 16

# --- errors and findings ----------------------------------------------------------------------


class EvidenceError(ErdrillError):
    """Evidence cannot be sealed or read as asked (a missing path, an unusable key)."""


class EvidenceAltered(ErdrillError):
    """Verification found evidence altered, missing, added or not signed as required."""

    exit_code = EXIT_ALTERED


_NOT_PROBLEMS = frozenset({"note"})


@dataclass(frozen=True, slots=True)
class Finding:
    """One verification result line: ``kind: where: detail``.

    Kinds: altered, missing, added, deleted, reordered, inserted, unsigned,
    bad-signature (problems) and note (legacy lines, unchecked signatures).
    """

    kind: str
    where: str
    detail: str

    @property
    def problem(self) -> bool:
        return self.kind not in _NOT_PROBLEMS

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.detail}"


@dataclass(slots=True)
class ItemReport:
    """The verification of one drill folder, bundle or history file."""

    item: str
    what: str  # "drill folder", "bundle", "history"
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""

    @property
    def ok(self) -> bool:
        return not any(f.problem for f in self.findings)

    def lines(self) -> list[str]:
        """The report as printed: every finding, then ``ok: ...`` when nothing is wrong."""
        out = [str(f) for f in self.findings]
        if self.ok:
            out.append(f"ok: {self.item}: {self.summary}")
        return out


# --- keys -------------------------------------------------------------------------------------


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
        _write_bytes(path, private_pem, mode=0o600)
        _write_bytes(public_path, public_pem, mode=0o644)
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


def _signature_doc(key: Ed25519PrivateKey, message: bytes, **extra: Any) -> bytes:
    doc = {
        "algorithm": "Ed25519",
        "key_fingerprint": fingerprint(key),
        **extra,
        "signature": base64.b64encode(key.sign(message)).decode("ascii"),
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _check_signature(
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


# --- manifests --------------------------------------------------------------------------------


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
        for rel, (digest, size) in sorted(_hash_folder(run_dir).items())
        if rel not in _SEAL_FILES
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
    _write_bytes(path, _manifest_bytes(manifest))
    if key is not None:
        sign_manifest(path, key)
    else:
        (run_dir / SIGNATURE_NAME).unlink(missing_ok=True)
    return path


def sign_manifest(manifest: Path, key: Ed25519PrivateKey) -> Path:
    """Write manifest.sig beside `manifest`: a detached signature over its exact bytes."""
    sig = manifest.with_name(SIGNATURE_NAME)
    _write_bytes(
        sig,
        _signature_doc(key, manifest.read_bytes(), schema=_SIGNATURE_SCHEMA, signed=manifest.name),
    )
    return sig


def _manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode("utf-8")


def _hash_folder(run_dir: Path) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for rel, path in _regular_files(run_dir):
        h = hashlib.sha256()
        size = 0
        with path.open("rb") as f:
            while chunk := f.read(_CHUNK):
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


def _odd_entries(run_dir: Path) -> list[str]:
    """Symlinks, devices, sockets... in `run_dir`: never evidence."""
    odd: list[str] = []
    for root, dirs, names in os.walk(run_dir):
        for name in [*dirs, *names]:
            path = Path(root) / name
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                odd.append(path.relative_to(run_dir).as_posix())
    return sorted(odd)


# --- bundles ----------------------------------------------------------------------------------


def bundle_drill(run_dir: Path, bundles_dir: Path | None = None) -> Path:
    """Pack a sealed `run_dir` into `bundles_dir`/<run-id>.tar.gz and return its path.

    The archive holds ``<run-id>/`` with the manifest's files, the manifest and its
    signature, in sorted order with fixed owner, modes and mtimes (the manifest's
    creation time), so the same sealed folder always gives the same bytes. Refuses a
    folder whose files no longer match its manifest.
    """
    manifest_path = run_dir / MANIFEST_NAME
    try:
        manifest = json.loads(manifest_path.read_bytes())
        entries = [str(f["path"]) for f in manifest["files"]]
        run_id = str(manifest["run_id"])
        created = _parse_time(str(manifest["created_at"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise EvidenceError(
            f"bundle: {manifest_path}: no readable manifest; seal the folder first"
        ) from exc
    expected = {str(f["path"]): str(f["sha256"]) for f in manifest["files"]}
    names = sorted(
        {*entries, MANIFEST_NAME}
        | ({SIGNATURE_NAME} if (run_dir / SIGNATURE_NAME).exists() else set())
    )
    target_dir = bundles_dir or run_dir.parent.parent / "bundles"
    out = target_dir / f"{run_id}{BUNDLE_SUFFIX}"
    buf = io.BytesIO()
    with (
        gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for name in names:
            data = (run_dir / name).read_bytes()
            if name in expected and hashlib.sha256(data).hexdigest() != expected[name]:
                raise EvidenceError(
                    f"bundle: {run_dir / name} changed after the manifest was written; "
                    "seal the folder again or find out who changed it"
                )
            info = tarfile.TarInfo(f"{run_id}/{name}")
            info.size = len(data)
            info.mtime = int(created.timestamp())
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    _write_bytes(out, buf.getvalue())
    return out


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


# --- sealing a finished drill -----------------------------------------------------------------


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


# --- the history chain ------------------------------------------------------------------------


def _canonical(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def entry_hash(obj: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of an entry's canonical JSON without its ``hash`` field."""
    content = {k: v for k, v in obj.items() if k != "hash"}
    return hashlib.sha256(_canonical(content).encode("utf-8")).hexdigest()


def _line_digest(content: bytes) -> str:
    """The ``prev`` a line's successor holds: SHA-256 of the line's bytes and its newline."""
    return hashlib.sha256(content + b"\n").hexdigest()


def chain_entry(obj: Mapping[str, Any], previous_line: bytes | None) -> bytes:
    """The history line (with newline) for `obj` following `previous_line` (None: first)."""
    entry = {k: v for k, v in obj.items() if k not in CHAIN_FIELDS}
    entry["prev"] = GENESIS if previous_line is None else _line_digest(previous_line)
    entry["hash"] = entry_hash(entry)
    return (_canonical(entry) + "\n").encode("utf-8")


def strip_chain(obj: Mapping[str, Any]) -> dict[str, Any]:
    """`obj` without its chain fields (for reading a history line as a drill record)."""
    return {k: v for k, v in obj.items() if k not in CHAIN_FIELDS}


def last_line(fd: int) -> tuple[bytes | None, bool]:
    """(the last non-blank line of the open file `fd` without its newline, or None; whether
    the file ends with a newline). Reads backwards from the end in chunks."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None, True
    ends_with_newline = os.pread(fd, 1, size - 1) == b"\n"
    tail = b""
    pos = size
    while pos > 0:
        step = min(_CHUNK, pos)
        pos -= step
        tail = os.pread(fd, step, pos) + tail
        lines = tail.split(b"\n")
        # lines[0] may be cut off unless we reached the start of the file
        complete = lines if pos == 0 else lines[1:]
        for line in reversed(complete):
            if line.strip():
                return line, ends_with_newline
    return None, ends_with_newline


def chained_payload(obj: Mapping[str, Any], fd: int) -> bytes:
    """The bytes to append to the history open at `fd` (locked by the caller) for `obj`."""
    previous, ends_with_newline = last_line(fd)
    payload = chain_entry(obj, previous)
    return payload if ends_with_newline else b"\n" + payload


def history_signature_path(history: Path) -> Path:
    """Where the signature of a history's head lives: ``drills.jsonl.sig`` beside it."""
    return history.with_name(history.name + ".sig")


def _head_message(line: int, entry_hash_hex: str) -> bytes:
    return f"{_HEAD_SCHEMA}\nline {line}\nhash {entry_hash_hex}\n".encode("ascii")


def sign_history_head(history: Path, key: Ed25519PrivateKey) -> Path:
    """Sign the last line's ``hash`` of `history` (under its lock); return the .sig path."""
    import fcntl

    sig = history_signature_path(history)
    with history.open("rb") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # no append between reading the head and signing
        lines = [ln for ln in f.read().split(b"\n") if ln.strip()]
        if not lines:
            raise EvidenceError(f"history {history}: empty; nothing to sign")
        try:
            head = json.loads(lines[-1])
            head_hash = str(head["hash"])
        except (ValueError, KeyError, TypeError) as exc:
            raise EvidenceError(
                f"history {history}: its last line has no chain hash; append a drill first"
            ) from exc
        number = len(lines)
        _write_bytes(
            sig,
            _signature_doc(
                key,
                _head_message(number, head_hash),
                schema=_HEAD_SCHEMA,
                line=number,
                hash=head_hash,
                run_id=str(head.get("run_id", "")),
            ),
        )
    return sig


# --- verification -----------------------------------------------------------------------------


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
    manifest_bytes = _read_optional(run_dir / MANIFEST_NAME)
    signature = _read_optional(run_dir / SIGNATURE_NAME)
    actual = {rel: d for rel, d in _hash_folder(run_dir).items() if rel not in _SEAL_FILES}
    for rel in _odd_entries(run_dir):
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
        if rel not in _SEAL_FILES
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
            bad := _check_signature(where(SIGNATURE_NAME), signature, manifest_bytes, key)
        ) is not None:
            findings.append(bad)
    elif signature is not None:
        findings.append(
            Finding("note", where(SIGNATURE_NAME), f"signed by key {named}; pass --key to check it")
        )
    signed = f"; signature good (key {fingerprint(key)})" if key is not None and report.ok else ""
    report.summary = f"{len(listed)} files match the manifest of run {run_id}{signed}"


@dataclass(slots=True)
class _Line:
    number: int
    content: bytes
    obj: dict[str, Any] | None
    chained: bool
    intact: bool  # its hash matches its content


def verify_history(path: Path, key: Ed25519PublicKey | None = None) -> ItemReport:
    """Check the hash chain of a history file (and its head signature with `key`).

    Lines without chain fields at the start are a legacy prefix (a note); a break names
    the line and whether it looks like a deletion, an insertion or a swap.
    """
    report = ItemReport(str(path), "history")
    findings = report.findings
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EvidenceError(f"verify: {path}: cannot read: {exc.strerror}") from exc
    raw_lines = data.split(b"\n")
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    lines: list[_Line] = []
    for number, content in enumerate(raw_lines, start=1):
        if not content.strip():
            findings.append(Finding("note", f"{path}:{number}", "blank line (ignored)"))
            continue
        try:
            obj = json.loads(content)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            findings.append(Finding("altered", f"{path}:{number}", "not a JSON object"))
            lines.append(_Line(number, content, None, False, False))
            continue
        chained = all(k in obj for k in CHAIN_FIELDS)
        intact = chained and entry_hash(obj) == obj.get("hash")
        lines.append(_Line(number, content, obj, chained, intact))

    by_digest: dict[str, int] = {}
    for i, ln in enumerate(lines):
        by_digest.setdefault(_line_digest(ln.content), i)
    successor_of: dict[str, int] = {}
    for i, ln in enumerate(lines):
        if ln.chained and ln.obj is not None:
            successor_of.setdefault(str(ln.obj.get("prev")), i)

    legacy_end = 0
    while (
        legacy_end < len(lines)
        and not lines[legacy_end].chained
        and lines[legacy_end].obj is not None
    ):
        legacy_end += 1
    if legacy_end:
        last = lines[legacy_end - 1].number
        findings.append(
            Finding(
                "note",
                str(path),
                f"lines 1-{last} predate the hash chain (legacy prefix, not protected)",
            )
        )
    explained_until = -1  # index up to which breaks are explained by a reported swap
    for i in range(legacy_end, len(lines)):
        ln = lines[i]
        here = f"{path}:{ln.number}"
        run = _run_of(ln)
        if ln.obj is None:
            continue
        if not ln.chained:
            findings.append(
                Finding("inserted", here, f"{run}has no chain fields but follows chained lines")
            )
            continue
        if not ln.intact:
            findings.append(Finding("altered", here, f"{run}its content does not match its hash"))
        prev = str(ln.obj.get("prev"))
        before = lines[i - 1] if i > 0 else None
        expected = GENESIS if before is None else _line_digest(before.content)
        if prev == expected:
            continue
        if before is not None and before.obj is not None and not before.intact and before.chained:
            continue  # the line before was altered: already named
        if i <= explained_until and (prev in by_digest or prev == GENESIS):
            continue
        if prev == GENESIS:
            findings.append(
                Finding(
                    "deleted",
                    here,
                    f"{run}starts a new chain: the lines before it were replaced or "
                    "it was spliced in from another history",
                )
            )
        elif prev not in by_digest:
            between = (
                f"between lines {before.number} and {ln.number}"
                if before is not None
                else f"before line {ln.number}"
            )
            findings.append(
                Finding(
                    "deleted",
                    here,
                    f"{run}the line it was chained to is gone: a line was deleted {between}"
                    + (f" (or line {before.number} was rewritten)" if before is not None else ""),
                )
            )
        else:
            j = by_digest[prev]
            if j > i:
                q = successor_of.get(expected)
                other = lines[q].number if q is not None and q > i else lines[j].number
                findings.append(
                    Finding(
                        "reordered",
                        here,
                        f"{run}lines {ln.number} and {other} are swapped "
                        f"(line {ln.number} was chained after line {lines[j].number})",
                    )
                )
                explained_until = max(j, q if q is not None else j) + 1
            else:
                first, last_in = lines[j].number + 1, lines[i - 1].number
                span = f"line {first}" if first == last_in else f"lines {first}-{last_in}"
                findings.append(
                    Finding(
                        "inserted",
                        here,
                        f"{run}was chained right after line {lines[j].number}: "
                        f"{span} inserted or moved here",
                    )
                )
    _check_history_head(report, path, lines, key)
    n_chained = sum(1 for ln in lines if ln.chained)
    signed = (
        f"; head signature good (key {fingerprint(key)})" if key is not None and report.ok else ""
    )
    report.summary = (
        f"{n_chained} chained lines intact"
        + (f" after {legacy_end} legacy lines" if legacy_end else "")
        + signed
    )
    return report


def _run_of(ln: _Line) -> str:
    run = ln.obj.get("run_id") if ln.obj else None
    return f"(run {run}) " if run else ""


def _check_history_head(
    report: ItemReport, path: Path, lines: Sequence[_Line], key: Ed25519PublicKey | None
) -> None:
    sig_path = history_signature_path(path)
    sig = _read_optional(sig_path)
    findings = report.findings
    if sig is None:
        if key is not None:
            findings.append(
                Finding("unsigned", str(sig_path), "missing, but --key asks for a signature")
            )
        return
    try:
        doc = json.loads(sig)
        line, head_hash = int(doc["line"]), str(doc["hash"])
    except (ValueError, KeyError, TypeError):
        findings.append(Finding("altered", str(sig_path), "not a signature file erdrill wrote"))
        return
    if key is not None:
        bad = _check_signature(str(sig_path), sig, _head_message(line, head_hash), key)
        if bad is not None:
            findings.append(bad)
            return
    at = [ln for ln in lines if ln.obj is not None and ln.obj.get("hash") == head_hash]
    last = lines[-1] if lines else None
    if not at:
        findings.append(
            Finding(
                "deleted",
                str(sig_path),
                f"the signed head (line {line}) is not in the history: lines were deleted "
                "from its end or the head was rewritten",
            )
        )
    elif last is not None and at[-1].number != last.number:
        first = at[-1].number + 1
        after = f"line {first} was" if first == last.number else f"lines {first}-{last.number} were"
        kind = "unsigned" if key is not None else "note"
        findings.append(
            Finding(kind, str(sig_path), f"signs line {at[-1].number}; {after} appended unsigned")
        )
    elif key is None:
        findings.append(
            Finding(
                "note",
                str(sig_path),
                f"head signed by key {doc.get('key_fingerprint')}; pass --key to check it",
            )
        )


# --- small helpers ----------------------------------------------------------------------------


def _read_optional(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write atomically (temporary file, fsync, rename) with `mode` set before any byte."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
