"""A site's worker installed from the wheel in a fresh venv outside the checkout serves
the site's drills (and the control queue) of a campaign against a real dev server."""

from __future__ import annotations

import os
from pathlib import Path

import fleetkit as fk
import pytest

pytestmark = pytest.mark.timeout(600)


def test_a_worker_from_the_installed_wheel_serves_a_sites_drills(
    fresh_venv: Path, drill_workspace: Path, lab_prefix: str
) -> None:
    ws = drill_workspace
    away = ws / "elsewhere"  # no checkout, no conftest.py, no pyproject.toml
    away.mkdir()
    inv = fk.write_inventory(ws / "inv", [fk.circuit("wheel-1", "wheel-site", lab_prefix)])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{fresh_venv / 'bin'}:{env['PATH']}"
    with fk.dev_server() as temporal:
        worker = fk.start_worker(
            temporal, ["wheel-site"], ws / "state", ws / "worker.log",
            erdrill=str(fresh_venv / "bin" / "erdrill"), cwd=str(away), env=env,
        )  # fmt: skip
        try:
            run = fk.fleet_run(temporal, inv, ws / "reports")
            out, _ = run.communicate(timeout=300)
        finally:
            fk.stop_worker(worker)
            fk.labs_down([lab_prefix], ws / "labs")
    log = (ws / "worker.log").read_text()
    assert run.returncode == 0, out + log[-3000:]
    (result,) = fk.by_name(fk.campaign(ws / "reports", out)).values()
    assert result["verdict"] == "passed" and result["records"][0]["verdict"] == "passed"
    assert f"worker for site(s) wheel-site on {temporal}" in log
