"""The distribution as users get it: the wheel and sdist built from a clean export of
the repository, and a fresh venv outside any checkout with the wheel and its locked
dependencies only (the `dist` and `fresh_venv` fixtures of conftest.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from drillrun import REPO

UV = [sys.executable, "-m", "uv"]


def clean_export(dest: Path) -> Path:
    """The tracked files only, as `git archive HEAD` gives them once committed (a working
    tree's uncommitted edits of tracked files included, so a developer tests what they see)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached"], cwd=REPO, capture_output=True, check=True
    ).stdout
    files = b"\0".join(f for f in listed.split(b"\0") if f and (REPO / f.decode()).exists())
    archive = subprocess.run(
        ["tar", "--null", "--no-recursion", "-T", "-", "-c"],
        cwd=REPO, input=files, capture_output=True, check=True,
    ).stdout  # fmt: skip
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def build_dist(root: Path) -> Path:
    """The wheel and sdist built from a clean export (no checkout files beside them)."""
    src = clean_export(root / "src")
    subprocess.run(
        [*UV, "build", "--quiet", "--wheel", "--sdist", "--out-dir", str(root / "out"), str(src)],
        check=True,
        capture_output=True,
    )
    return root / "out"


def make_venv(venv: Path, dist: Path) -> Path:
    """A venv outside the checkout with the wheel and its locked dependencies only."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (wheel,) = dist.glob("*.whl")
    subprocess.run(
        [*UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         "-c", str(REPO / "requirements.lock"), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return venv
