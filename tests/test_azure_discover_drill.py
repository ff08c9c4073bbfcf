"""From a subscription to a first drill, against the lab's Azure face: `erdrill discover`
writes the config, and `pytest features/ --target azure --allow-disruption` runs it
unchanged. One drill per lab shape (the reference lab: the documented plan; the redundant
lab: the circuit link failover scenarios run, the site failover is skipped with its reason).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from drillrun import session_prefix

from erdrill.core.config import load_drill_config
from erdrill.lab.lab import Lab
from erdrill.lab.topology import load_topology

ROOT = Path(__file__).parents[1]
SUB, RG = "00000000-0000-4000-8000-00000000e7d1", "erdrill-lab"


@pytest.fixture
def short_ws(drill_workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The drill workspace with a short lab root: charon's control socket path (under the
    lab run folder) must stay within the 108 bytes of a Unix socket address."""
    root = Path(tempfile.mkdtemp(prefix="erd-az-"))
    monkeypatch.setenv("ERDRILL_LAB_ROOT", str(root))
    yield drill_workspace
    shutil.rmtree(root, ignore_errors=True)


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=900, check=False
    )  # the environment: drill_workspace's state and lab folders


def _discover_and_drill(
    folder: Path, shape: str, prefix: str, *select: str, face: str = ""
) -> tuple[subprocess.CompletedProcess[str], Path, list[dict[str, Any]]]:
    topology = folder / "topology.yaml"
    topology.write_text(f"extends: {shape}\nprefix: {prefix}\n{face}")
    config = folder / "discovered.toml"
    try:
        found = _run(
            [str(Path(sys.executable).parent / "erdrill"), "discover", "--subscription", SUB,
             "--resource-group", RG, "--lab-topology", str(topology), "-o", str(config)],
            folder,
        )  # fmt: skip
        assert found.returncode == 0, found.stderr[-2000:]
        drills = folder / "drills"
        done = _run(
            [sys.executable, "-m", "pytest", str(ROOT / "features"), "-p", "no:cacheprovider",
             "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"), "--target", "azure",
             "--drill-config", str(config), "--lab-topology", str(topology),
             "--allow-disruption", "--drills-dir", str(drills), "--alluredir",
             str(folder / "allure"), "-rs", *select],
            folder,
        )  # fmt: skip
    finally:
        Lab(load_topology(topology)).down()  # discover brings it up; the drill takes it down
    records = [json.loads(p.read_text()) for p in sorted(drills.glob("*/drill.json"))]
    return done, config, records


def test_discovered_config_drills_the_reference_lab(short_ws: Path) -> None:
    done, config, records = _discover_and_drill(
        short_ws, "default", session_prefix("erd-azd"), "-k", "documented"
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-1000:]
    cfg = load_drill_config(config).azure
    assert cfg is not None and cfg.fault_method == "disable-peering"  # one link
    assert "one peering location" in config.read_text()
    (record,) = records
    assert record["verdict"] == "passed" and record["fault"] == "disable-peering"
    assert record["paths"]["during"] == {"forward": "vpn", "return": "vpn"}
    assert any(i.startswith("resilience: every configured circuit") for i in record["information"])
    assert not [f for f in record["findings"] if f.startswith("ERD-ARCH")]


@pytest.mark.slow
def test_discovered_config_drills_the_redundant_lab_by_its_links(short_ws: Path) -> None:
    done, config, records = _discover_and_drill(
        short_ws,
        "redundant",
        session_prefix("erd-azr"),
        face="azure:\n  face_misconfig: [gateway-subnet-28]\n",  # a finding, not fatal
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-1000:]
    cfg = load_drill_config(config).azure
    assert cfg is not None and cfg.fault_method == "circuit-link-failover"  # two links
    assert re.search(r"3 passed, 2 skipped, \d+ deselected", done.stdout), done.stdout[-800:]
    assert (
        "does not fit: site-failover-simulation needs circuits in 2 peering locations; "
        "the config names 1 (lab-location)"
    ) in done.stdout
    assert "does not fit: fault_method circuit-link-failover keeps traffic on ExpressRoute" in (
        done.stdout
    )
    drilled = {r["scenario"]: r for r in records if r.get("fault")}
    assert len(drilled) == 2, list(drilled)
    for record in drilled.values():
        assert record["verdict"] == "passed", record["message"]
        assert record["fault"] == "circuit-link-failover"
        assert record["paths"]["during"] == {"forward": "expressroute", "return": "expressroute"}
    (prepend,) = [r for s, r in drilled.items() if "prepend" in s]
    assert prepend["failover"]["lost"] == 0 and prepend["failback"]["lost"] == 0
    # the face shows a /28 GatewaySubnet: a finding in every record, report and the summary
    seen = {r["scenario"]: [f[:13] for f in r["findings"]] for r in records}
    assert set(map(tuple, seen.values())) == {("ERD-ARCH-001:",)}, seen
    reported = json.loads(next((short_ws / "drills").glob("*/findings.json")).read_text())
    (arch,) = [f for f in reported["findings"] if f["id"] == "ERD-ARCH-001"]
    assert "expressroute-howto-coexist" in arch["source"]
    assert re.search(r"ERD-ARCH-001 \[major, (new|recurring)\] The GatewaySubnet", done.stdout)
