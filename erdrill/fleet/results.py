"""The campaign's result in words and as JSON, and `erdrill fleet status`: every
circuit's last drill from its history and whether it is OVERDUE."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from erdrill.core.exitcodes import ExitCode
from erdrill.core.files import write_atomic
from erdrill.fleet.inventory import Circuit
from erdrill.fleet.jobs import CampaignResult, CircuitResult
from erdrill.reports import history
from erdrill.reports.freshness import freshness

__all__ = [
    "campaign_exit_code",
    "merge_allure",
    "result_lines",
    "status_lines",
    "write_result",
]

_SEVERITY = [16, 15, 12, 13, 11, 10, 14]  # as erdrill/core/outcomes.py orders the codes


def campaign_exit_code(result: CampaignResult) -> int:
    """The worst circuit's exit code (0 when every circuit passed)."""
    codes = {c.exit_code for c in result.circuits}
    return next((c for c in _SEVERITY if c in codes), max(codes, default=0))


def _figure(rec: dict[str, Any], name: str) -> str:
    got = (rec.get(name) or {}).get("outage_ms")
    limit = (rec.get("limits") or {}).get(f"{name}_outage_ms")
    if got is None:
        return f"{name} -"
    return f"{name} {got:.0f} ms" + (f" (limit {limit:.0f} ms)" if limit is not None else "")


def _circuit_lines(c: CircuitResult) -> list[str]:
    head = f"{c.name} [{c.site}]: {c.verdict.upper()}"
    if c.host_lost:
        head += ", host lost" + (", fault undone" if c.fault_undone else "")
    out = [head + (f": {c.message}" if c.message and c.exit_code else "")]
    for rec in c.records:
        findings = ", ".join(rec.get("findings") or []) or "none"
        out.append(
            f"  {rec.get('run_id')} {rec.get('fault') or '-'} {rec.get('verdict')}: "
            f"{_figure(rec, 'failover')}, {_figure(rec, 'failback')}; findings {findings}"
        )
    out += [f"  waited: {w}" for w in c.waited]
    return out


def result_lines(result: CampaignResult, statuses: Sequence[str] = ()) -> list[str]:
    """The campaign result, one block per circuit, then freshness."""
    lines = [f"campaign {result.campaign_id}: {len(result.circuits)} circuit(s)"]
    for c in result.circuits:
        lines += _circuit_lines(c)
    lines += list(statuses)
    code = campaign_exit_code(result)
    lines.append(
        f"campaign exit code {code} ({ExitCode(code).name.lower() if code in ExitCode._value2member_map_ else code})"
    )
    return lines


def write_result(result: CampaignResult, reports: Path) -> Path:
    """campaign-<id>.json beside the circuits' reports."""
    reports.mkdir(parents=True, exist_ok=True)
    path = reports / f"{result.campaign_id}.json"
    write_atomic(path, json.dumps(dataclasses.asdict(result), indent=2) + "\n")
    return path


def status_lines(circuits: Sequence[Circuit], reports: Path, interval: float) -> list[str]:
    """Each circuit's last drill and last passing drill, OVERDUE past `interval` days."""
    now = datetime.now(UTC)
    out = []
    for c in circuits:
        path = reports / c.name / "reports" / "history" / "drills.jsonl"
        records = history.read(path) if path.exists() else []
        fresh = freshness(records, now, interval)
        if not fresh:
            out.append(f"{c.name} [{c.site}]: OVERDUE: never drilled (interval {interval:g} days)")
            continue
        last = max(records, key=lambda r: r.finished_at or r.started_at or "")
        f = min(fresh, key=lambda f: (not f.overdue, f.label))  # the worst of its targets
        state = "OVERDUE" if f.overdue else "ok"
        since = f"{f.days_since_pass:.0f} days ago" if f.days_since_pass is not None else "never"
        out.append(
            f"{c.name} [{c.site}]: {state}: last drill {last.run_id} {last.verdict} "
            f"({last.finished_at or last.started_at}); last pass {since} "
            f"(interval {interval:g} days)"
        )
    return out


def merge_allure(result: CampaignResult, reports: Path) -> Path:
    """One Allure results folder for the campaign, grouped by circuit (its parent suite):
    `erdrill report --results <it>` builds the campaign's report."""
    out = reports / result.campaign_id / "allure-results"
    out.mkdir(parents=True, exist_ok=True)
    for c in result.circuits:
        src = reports / c.name / "reports" / "allure-results"
        for f in sorted(src.glob("*")) if src.is_dir() else []:
            if f.name.endswith("-result.json"):
                data = json.loads(f.read_text())
                labels = [x for x in data.get("labels", []) if x.get("name") != "parentSuite"]
                data["labels"] = [*labels, {"name": "parentSuite", "value": c.name}]
                for key in ("historyId", "testCaseId", "fullName"):  # one test per circuit
                    if key in data:
                        data[key] = f"{c.name}:{data[key]}"
                write_atomic(out / f.name, json.dumps(data))
            elif "-attachment" in f.name or f.name == "categories.json":
                shutil.copyfile(f, out / f.name)
    return out
