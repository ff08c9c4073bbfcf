"""The distribution users install: built from a clean export of the repository, it holds
every module under one import root (`erdrill`), the feature files, the step definitions
and the topologies; installed into a fresh venv outside any checkout it runs the drill."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

from drillrun import REPO


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
