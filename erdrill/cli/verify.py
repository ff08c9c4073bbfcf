"""`erdrill verify` and `erdrill keygen`: check sealed evidence, make a signing key."""

from __future__ import annotations

from pathlib import Path

import click

from erdrill.reports import integrity

__all__ = ["keygen", "verify"]


@click.command("verify")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--key",
    "key_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Public key (PEM, from `erdrill keygen`): check every signature with it.",
)
def verify(paths: tuple[Path, ...], key_path: Path | None) -> None:
    """Check drill folders, bundles and history files for tampering.

    PATHS are drill folders (reports/drills/<run-id>, or reports/drills for all),
    bundles (reports/bundles/<run-id>.tar.gz) and history files
    (reports/history/drills.jsonl). Prints one line per altered, missing, added,
    deleted or reordered item; exits 0 if all is intact, 1 if anything is not,
    2 for a path or key that cannot be used.
    """
    if not paths:
        raise integrity.EvidenceError(
            "verify: name at least one drill folder, bundle or history file, e.g. "
            "`erdrill verify reports/drills reports/history/drills.jsonl`"
        )
    key = integrity.load_public_key(key_path) if key_path is not None else None
    reports = integrity.verify_paths(list(paths), key)
    for report in reports:
        for line in report.lines():
            click.echo(line)
    bad = [r for r in reports if not r.ok]
    if bad:
        problems = sum(1 for r in bad for f in r.findings if f.problem)
        raise integrity.EvidenceAltered(
            f"evidence altered: {problems} finding(s) in {len(bad)} of {len(reports)} item(s): "
            + ", ".join(r.item for r in bad)
        )


@click.command("keygen")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace an existing key at PATH.")
def keygen(path: Path, force: bool) -> None:
    """Write an Ed25519 signing key: PATH (private, mode 0600) and PATH.pub (public).

    Drills sign their evidence when ERDRILL_SIGNING_KEY names PATH; auditors check it
    with `erdrill verify --key PATH.pub`.
    """
    private, public, fp = integrity.generate_key(path, force=force)
    click.echo(f"private key: {private} (mode 0600; keep it on the drill host only)")
    click.echo(f"public key:  {public}")
    click.echo(f"fingerprint: {fp}")
    click.echo(f"sign drills: export {integrity.SIGNING_KEY_ENV}={private}")
