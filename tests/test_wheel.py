"""The distribution users install: built from a clean export of the repository, it holds
every module under one import root (`erdrill`), the feature files, the step definitions
and the topologies; installed into a fresh venv outside any checkout it runs the drill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
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


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and sdist built from a clean export (no checkout files beside them)."""
    root = tmp_path_factory.mktemp("dist")
    src = clean_export(root / "src")
    subprocess.run(
        [*UV, "build", "--quiet", "--wheel", "--sdist", "--out-dir", str(root / "out"), str(src)],
        check=True,
        capture_output=True,
    )
    return root / "out"


def tracked(pattern: str) -> set[str]:
    out = subprocess.run(
        ["git", "ls-files", "--", pattern], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


def test_the_wheel_installs_one_import_root(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    roots = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert roots == {"erdrill"}
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry).decode()
    assert "[pytest11]" in text and "erdrill.pytest_plugin" in text


def test_the_wheel_and_sdist_hold_every_module_the_features_steps_and_topologies(
    dist: Path,
) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())
    with tarfile.open(sdist) as tar:
        in_sdist = {"/".join(n.split("/")[1:]) for n in tar.getnames()}
    wanted = {p for p in tracked("erdrill") if not p.endswith(".gitkeep")}
    assert {p for p in wanted if p.endswith(".feature")}, "the features are tracked"
    assert {p for p in wanted if p.startswith("erdrill/lab/topologies/")}
    assert {p for p in wanted if p.startswith("erdrill/steps/")}
    assert {p for p in wanted if p.startswith("erdrill/targets/azure/")}
    assert wanted - in_wheel == set()
    assert wanted - in_sdist == set()


@pytest.fixture
def fresh_venv(drill_workspace: Path, dist: Path) -> Iterator[Path]:
    """A venv outside the checkout with the wheel and its locked dependencies only."""
    venv = drill_workspace / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (wheel,) = dist.glob("*.whl")
    subprocess.run(
        [*UV, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
         "-c", str(REPO / "requirements.lock"), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    yield venv


def test_the_installed_wheel_runs_the_reference_drill_with_no_checkout(
    fresh_venv: Path, drill_workspace: Path, lab_prefix: str
) -> None:
    away = drill_workspace / "elsewhere"  # no checkout, no conftest.py, no pyproject.toml
    away.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{fresh_venv / 'bin'}:{env['PATH']}"

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            argv, cwd=away, env=env, capture_output=True, text=True, timeout=600, check=False
        )

    helped = run("erdrill", "--help")
    assert helped.returncode == 0 and "drill" in helped.stdout, helped.stderr
    where = run("python", "-c", "import erdrill; print(erdrill.__file__)")
    assert str(fresh_venv) in where.stdout and str(REPO) not in where.stdout
    topology = away / "topology.yaml"
    topology.write_text(f"extends: default\nprefix: {lab_prefix}\n")
    up = run("erdrill", "lab", "--prefix", lab_prefix, "up", "--topology", str(topology))
    try:
        assert up.returncode == 0, up.stdout + up.stderr
    finally:
        down = run("erdrill", "lab", "--prefix", lab_prefix, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    drill = run("erdrill", "drill", "-k", "documented", "--lab-topology", str(topology))
    assert drill.returncode == 0, drill.stdout[-3000:] + drill.stderr[-2000:]
    (record,) = (away / "reports" / "drills").glob("*/drill.json")
    assert json.loads(record.read_text())["verdict"] == "passed"
