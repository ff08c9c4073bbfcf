"""The prober against the real lab: no loss at steady state, an outage and a path switch on a
fault, agreement with the lab's event log, and a refusal to probe outside the lab."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from erdrill.core.paths import ON_VPN, PathKind
from erdrill.drill.ground_truth import summarize_ground_truth
from erdrill.lab.lab import Lab
from erdrill.probes.measure import measure_transition, summarize
from erdrill.probes.pathid import return_path_of
from erdrill.probes.prober import Prober
from erdrill.targets.lab import LabTarget

ERDRILL = str(Path(__file__).parents[1] / ".venv" / "bin" / "erdrill")
RATE = 500  # per target and protocol: 1,000 probes/s in all


def _prober(lab: Lab) -> Prober:
    target = LabTarget(lab)
    return Prober(
        target.probe_targets(),
        rate=RATE,
        namespace=target.probe_namespace(),
        allowed_networks=target.allowed_networks(),
    )


def test_steady_traffic_loses_nothing(lab: Lab) -> None:
    with _prober(lab) as prober:
        time.sleep(2.0)
    samples = prober.stop()
    steady = summarize(samples)
    assert steady.sent >= 2 * RATE * 1.5
    assert steady.lost == 0, steady
    assert (
        return_path_of(samples, LabTarget(lab).probe_targets()[0], at="end")
        is PathKind.EXPRESSROUTE
    )


def test_fault_gives_an_outage_and_a_path_switch_matching_the_event_log(healthy_lab: Lab) -> None:
    lab = healthy_lab
    prober = _prober(lab).start()
    try:
        time.sleep(0.5)
        fault_at = time.time()
        lab.inject("ce-link-down")
        lab.wait_paths(ON_VPN, timeout=15)
        time.sleep(1.5)
    finally:
        samples = prober.stop()
        lab.restore("ce-link-down")
    fo = measure_transition(samples, fault_at, rate_per_flow=RATE, sustain_s=1.0)
    assert fo.recovered and fo.outage_ms is not None and fo.outage_ms > 0
    assert fo.loss_derived_ms > 0
    assert (
        return_path_of(samples, LabTarget(lab).probe_targets()[0], at="start")
        is PathKind.EXPRESSROUTE
    )
    assert return_path_of(samples, LabTarget(lab).probe_targets()[0], at="end") is PathKind.VPN
    truth = summarize_ground_truth(lab.ground_truth(fault_at - 1), fault_at, None)
    changes = list(truth["failover_route_change_ms"].values())
    interval = 1000.0 / RATE
    low = min(changes) - (truth["fault_injection_ms"] or 0.0) - 2 * interval
    high = max(changes) + 2 * interval
    assert low <= fo.outage_ms <= high, (fo.outage_ms, truth["failover_route_change_ms"])


def test_probe_outside_the_lab_is_refused(lab: Lab) -> None:
    out = subprocess.run(
        [ERDRILL, "probe", "192.0.2.55", "--lab-node", "onprem-host", "--duration", "1"],
        capture_output=True,
        text=True,
        env=_lab_env(lab),
        check=False,
    )
    assert out.returncode != 0
    assert "outside the lab" in out.stderr and "192.0.2.55" in out.stderr
    assert "Traceback" not in out.stderr


def _lab_env(lab: Lab) -> dict[str, str]:
    return {
        **os.environ,
        "ERDRILL_LAB_ROOT": str(lab.run_dir.parent),
        "ERDRILL_LAB_PREFIX": lab.topology.prefix,
    }


def test_probe_command_measures_inside_the_lab(lab: Lab, tmp_path: Path) -> None:
    report = tmp_path / "probe.json"
    out = subprocess.run(
        [
            ERDRILL,
            "probe",
            lab.topology.workload_address,
            "--lab-node",
            "onprem-host",
            "--duration",
            "2",
            "--rate",
            "200",
            "--json",
            str(report),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=_lab_env(lab),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(report.read_text())
    text = json.dumps(data)
    for key in ("sent", "lost", "outage_ms", "loss_derived_ms", "sampling_interval_ms"):
        assert f'"{key}"' in text, key
    assert "expressroute" in text  # the return path seen (reply TTL 60)
