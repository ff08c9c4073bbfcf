"""Bad input to `pytest features/` is one line naming the field and the fix, exit 4, and no
scenario runs (nothing is built, no drill record is written)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PYTEST = str(Path(sys.executable).parent / "pytest")


def _run(tmp_path: Path, *args: str) -> tuple[int, str]:
    drills = tmp_path / "drills"
    proc = subprocess.run(
        [PYTEST, "features/", "-p", "no:cacheprovider", "--drills-dir", str(drills), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert not drills.exists(), "a drill started despite the bad input"
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("name", "text", "field", "fix"),
    [
        ("rate.toml", "[drill]\nprobe_rate = -5\n", "drill.probe_rate", "correct the value"),
        ("unknown.toml", "[drill]\nprobe_rat = 5\n", "drill.probe_rat", ""),
        ("limits.toml", "[drill]\nabort_limit_s = 1\n", "abort_limit_s", "at least"),
        # 20,000 probes/s in all: above what the lab's VPN path carries (test_vpn_ceiling.py)
        ("vpn.toml", "[drill]\nprobe_rate = 10000\n", "[drill] probe_rate: 10000/s x 2", "at most"),
    ],
)
def test_bad_drill_config(tmp_path: Path, name: str, text: str, field: str, fix: str) -> None:
    config = tmp_path / name
    config.write_text(text)
    code, out = _run(tmp_path, "--drill-config", str(config))
    errors = [line for line in out.splitlines() if line.startswith("ERROR:")]
    assert code == 4, out
    assert len(errors) == 1 and "Traceback" not in out, out
    assert str(config) in errors[0] and field in errors[0] and fix in errors[0], errors


def test_missing_drill_config(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "--drill-config", str(tmp_path / "nope.toml"))
    assert code == 4 and "no such file; give the path of a drill config" in out, out


def test_bad_topology(tmp_path: Path) -> None:
    topology = tmp_path / "bad.yaml"
    topology.write_text("extends: default\nonprem:\n  asn: 99999999999\n")
    code, out = _run(tmp_path, "--lab-topology", str(topology))
    errors = [line for line in out.splitlines() if line.startswith("ERROR:")]
    assert code == 4 and len(errors) == 1 and "Traceback" not in out, out
    assert str(topology) in errors[0] and "onprem.asn" in errors[0], errors


def test_azure_target_without_azure_config(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "--target", "azure")
    assert code == 4, out
    assert "--target: azure: the drill config has no [azure] section; give --drill-config" in out


def test_unknown_target_option(tmp_path: Path) -> None:
    code, out = _run(tmp_path, "--target", "moon")
    assert code == 4 and "argument --target: invalid choice: 'moon'" in out, out
