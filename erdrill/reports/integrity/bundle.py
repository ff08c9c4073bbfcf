"""Reproducible bundles: a sealed drill folder packed into ``<run-id>.tar.gz``."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from datetime import datetime
from pathlib import Path

from erdrill.reports.integrity.errors import EvidenceError
from erdrill.reports.integrity.files import write_bytes
from erdrill.reports.integrity.manifest import MANIFEST_NAME, SIGNATURE_NAME

__all__ = [
    "BUNDLE_SUFFIX",
    "bundle_drill",
]

BUNDLE_SUFFIX = ".tar.gz"


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
    write_bytes(out, buf.getvalue())
    return out


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
