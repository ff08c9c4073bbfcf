"""The drill runs from the 20-line script in docs/library.md, without pytest, on a test lab."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from drillrun import REPO, session_prefix

from erdrill.core import record


def test_the_documented_plan_runs_from_a_script(drill_workspace: Path) -> None:
    tmp_path = drill_workspace
    text = (REPO / "docs" / "library.md").read_text()
    script = re.search(r"```python\n(.*?)```", text, re.S)
    assert script is not None, "docs/library.md has no python block"
    assert len([ln for ln in script.group(1).splitlines() if ln.strip()]) <= 20
    (tmp_path / "documented_plan.py").write_text(script.group(1))
    prefix = session_prefix("erd-lib")
    (tmp_path / "topology.yaml").write_text(f"extends: default\nprefix: {prefix}\n")
    env = {
        **os.environ,
        "ERDRILL_STATE_DIR": str(tmp_path / "state"),
        "ERDRILL_LAB_ROOT": str(tmp_path / "labs"),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.run(
        [sys.executable, "documented_plan.py", "topology.yaml"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    (path,) = (tmp_path / "reports" / "drills").glob("*/drill.json")
    rec = record.load(path)
    assert rec.verdict == "passed" and rec.phase == "done" and rec.fault == "provider-link-down"
    assert rec.failover is not None and rec.failover.outage_ms is not None
    assert rec.failback is not None and rec.paths["after"].forward == "expressroute"
    assert not [n for n in os.listdir("/run/netns") if n.startswith(prefix)], "lab left behind"
