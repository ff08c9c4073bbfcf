"""The drill against its own lab: a limit below the measured outage fails and says by how much;
misconfigured on-premises preference fails the steady state naming the asymmetric direction."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[1]
PYTEST = str(ROOT / ".venv" / "bin" / "pytest")


def run_drill(
    tmp_path: Path, *args: str, prefix: str, base: str = "default"
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, object]]]:
    topo = tmp_path / "topology.yaml"
    topo.write_text(f"extends: {base}\nname: limits\nprefix: {prefix}\n")
    drills = tmp_path / "drills"
    env = {
        **os.environ,
        "ERDRILL_STATE_DIR": str(tmp_path / "state"),
        "ERDRILL_LAB_ROOT": str(tmp_path / "labs"),
    }
    out = subprocess.run(
        [
            PYTEST,
            "features/",
            "-p",
            "no:cacheprovider",
            "--lab-topology",
            str(topo),
            "--drills-dir",
            str(drills),
            "--alluredir",
            str(tmp_path / "allure"),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
        timeout=600,
    )
    records = [json.loads(p.read_text()) for p in sorted(drills.glob("*/drill.json"))]
    return out, records


def test_limit_below_the_outage_fails_and_says_by_how_much(drill_workspace: Path) -> None:
    tmp_path = drill_workspace
    config = tmp_path / "drill.toml"
    config.write_text("[drill]\nfailover_limit_s = 0.001\n")
    out, records = run_drill(
        tmp_path, "--drill-config", str(config), "-k", "provider-blackhole", prefix="erd-limit"
    )
    assert out.returncode != 0, out.stdout[-2000:]
    (rec,) = records
    assert rec["verdict"] == "failed"
    assert rec["failure_category"] == "limit-exceeded"
    message = str(rec["message"])
    assert message.startswith("limit exceeded: failover outage"), message
    measured = rec["failover"]["outage_ms"]  # type: ignore[index]
    assert f"{measured - 1:.0f} ms over" in message, message
    assert "limit exceeded: failover outage" in out.stdout
    # the fault was undone: the record saw ExpressRoute again
    assert rec["paths"]["after"] == {"forward": "expressroute", "return": "expressroute"}  # type: ignore[index]


def test_onprem_preferring_the_vpn_fails_the_steady_state(drill_workspace: Path) -> None:
    tmp_path = drill_workspace
    out, records = run_drill(
        tmp_path,
        "-k",
        "both_directions_use_expressroute",
        prefix="erd-asym",
        base="onprem-prefers-vpn",
    )
    assert out.returncode != 0
    (rec,) = records
    assert rec["verdict"] == "failed"
    assert "asymmetric routing: the forward direction (on-premises to Azure) uses vpn" in str(
        rec["message"]
    )
