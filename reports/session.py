"""Glue between a pytest drill session and the report library (called from the root conftest).

* `start(config, target)`: register the target's secrets, write environment.properties,
  executor.json and categories.json into the Allure results folder;
* `scenario_finished(config, node, drill)`: after `Drill.close`, label the Allure test,
  attach the timeline, samples, route snapshots and drill record, write the same evidence
  beside drill.json, append the record to the drill history, then seal the drill folder
  (manifest, signatures with $ERDRILL_SIGNING_KEY, bundle: `reports.integrity`);
* `terminal_summary(terminalreporter, config)`: the figures-against-limits table.

Report problems never hide the drill's verdict: they are collected and printed in the
terminal summary (and raise nothing).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from core.outcomes import Phase
from core.record import DrillRecord
from drill.engine import Drill
from reports import allure_results as ar
from reports import evidence, history, integrity
from reports.redact import register_secret
from reports.summary import render_summary
from reports.timeline import readable_title
from targets.target import Target

__all__ = ["HISTORY_PATH", "scenario_finished", "start", "terminal_summary"]

HISTORY_PATH = history.DEFAULT_HISTORY
_RECORDS = pytest.StashKey[list[DrillRecord]]()
_PROBLEMS = pytest.StashKey[list[str]]()
_SECRETS = pytest.StashKey[list[str]]()


def _results_dir(config: pytest.Config) -> Path | None:
    value = getattr(config.option, "allure_report_dir", None)
    return Path(value) if value else None


def _problem(config: pytest.Config, what: str, exc: BaseException) -> None:
    config.stash.setdefault(_PROBLEMS, []).append(f"{what}: {type(exc).__name__}: {exc}")


def start(config: pytest.Config, target: Target) -> None:
    """Register the target's secrets and write the Allure session files."""
    secrets: list[str] = []
    try:
        secrets = [s for s in target.secrets() if s]
    except Exception as exc:
        _problem(config, "reading the target's secrets", exc)
    register_secret(*secrets)
    config.stash[_SECRETS] = secrets
    results = _results_dir(config)
    if results is None:
        return
    try:
        described = {k: str(v) for k, v in (target.describe() or {}).items()}
        run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        ar.write_results_metadata(results, str(target.name), run_id, described, secrets)
    except Exception as exc:
        _problem(config, f"writing Allure session files into {results}", exc)


def scenario_finished(config: pytest.Config, node: pytest.Item, drill: Drill) -> None:
    """Attach the drill's evidence to its Allure test, write it beside drill.json, keep history."""
    record: DrillRecord = drill.record
    secrets = config.stash.get(_SECRETS, [])
    config.stash.setdefault(_RECORDS, []).append(record)
    try:
        _attach(node, drill, record, secrets)
    except Exception as exc:
        _problem(config, f"attaching evidence of drill {record.run_id}", exc)
    try:
        history.append(record, HISTORY_PATH, secrets)
    except Exception as exc:
        _problem(config, f"appending drill {record.run_id} to {HISTORY_PATH}", exc)
    try:
        _seal(drill, record)
    except Exception as exc:
        _problem(config, f"sealing the evidence of drill {record.run_id}", exc)


def _seal(drill: Drill, record: DrillRecord) -> None:
    """Manifest, signatures and bundle once nothing more is written into the drill folder."""
    if record.verdict != "aborted":
        record.phase = Phase.DONE  # what Drill.close writes next: drill.json keeps these bytes
        drill.save()
    sealed = integrity.seal_drill(
        drill.run_dir, history=HISTORY_PATH, key=integrity.signing_key_path()
    )
    ar.attach_json(sealed.manifest.read_text(encoding="utf-8"), "evidence manifest")


def _attach(node: pytest.Item, drill: Drill, record: DrillRecord, secrets: list[str]) -> None:
    labels = record.labels
    ar.describe_drill(
        target=record.target,
        fault=record.fault,
        topology=labels.get("topology"),
        circuit=labels.get("circuit") or labels.get("expressroute_circuit"),
        probe_rate=record.probe_rate,
        sampling_interval_ms=record.sampling_interval_ms,
        limits=record.limits,
        disruptive=node.get_closest_marker("disruptive") is not None,
    )
    run_dir: Path = drill.run_dir
    samples = list(getattr(drill, "samples", []) or [])
    files = evidence.write_evidence(run_dir, samples, record.route_snapshots, secrets)
    if samples:
        watcher = getattr(drill, "watcher", None)
        until = max([time.time(), *(s.sent for s in samples)])
        spans = watcher.spans(until) if watcher is not None else []
        ar.attach_timeline(
            samples,
            record.events,
            spans,
            run_dir / "timeline.png",
            title=readable_title(
                _scenario_name(node) or record.scenario, record.target, record.fault, record.run_id
            ),
            outages={
                "failover": record.failover.outage_ms if record.failover else None,
                "failback": record.failback.outage_ms if record.failback else None,
            },
        )
        files["timeline"] = "timeline.png"
        ar.attach_samples(samples, secrets=secrets)
    if record.route_snapshots:
        ar.attach_routes(record.route_snapshots, secrets=secrets)
    if files:
        record.files.update(files)
        drill.save()
    ar.attach_record(record, drill.path, secrets)


def _scenario_name(node: pytest.Item) -> str:
    """The Gherkin scenario's name with its example values filled in ('' if not pytest-bdd)."""
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry

        function: Any = getattr(node, "function", None)
        template = scenario_wrapper_template_registry[function]
        callspec = getattr(node, "callspec", None)
        example = callspec.params.get("_pytest_bdd_example", {}) if callspec else {}
        return str(template.render(example).name)
    except Exception:
        return ""


def terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """Print the drill summary table and any report problems at the end of the session."""
    records = config.stash.get(_RECORDS, [])
    problems = config.stash.get(_PROBLEMS, [])
    if not records and not problems:
        return
    terminalreporter.write_sep("=", "erdrill drill summary")
    if records:
        writer = getattr(terminalreporter, "_tw", None)
        width = max(int(getattr(writer, "fullwidth", 120)), 120)
        terminalreporter.write(render_summary(records, width=width))
        terminalreporter.write_line(f"drill history: {HISTORY_PATH}")
        if _results_dir(config) is not None:
            terminalreporter.write_line("HTML report: erdrill report")
    for line in problems:
        terminalreporter.write_line(f"erdrill: report problem: {line}", red=True)
