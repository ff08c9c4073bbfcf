"""Glue between a pytest drill session and the report library (called from the pytest plugin).

* `start(config, target)`: register the target's secrets, write environment.properties,
  executor.json and categories.json into the Allure results folder;
* `scenario_finished(config, node, drill)`: after `Drill.close`, label the Allure test,
  describe it (figures against limits, paths, findings with actions, freshness:
  `reports.describe`), attach the timeline, samples, route snapshots, findings and drill
  record, write the same evidence beside drill.json, append the record with its finding
  ids to the drill history, then seal the drill folder (manifest, signatures with
  $ERDRILL_SIGNING_KEY, bundle: `reports.integrity`);
* `terminal_summary(terminalreporter, config)`: the figures-against-limits table, the
  findings and every target's drill freshness; the same summary goes to the report's
  front page (a run-wide attachment and environment.properties entries).

Report problems never hide the drill's verdict: they are collected and printed in the
terminal summary (and raise nothing).
"""

from __future__ import annotations

import json
import os
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from erdrill.core.files import write_atomic
from erdrill.core.outcomes import Phase
from erdrill.core.record import DrillRecord
from erdrill.drill.engine import Drill
from erdrill.reports import allure_results as ar
from erdrill.reports import evidence, findings, freshness, history, integrity
from erdrill.reports.describe import drill_description_html, run_summary_text
from erdrill.reports.redact import register_secret
from erdrill.reports.summary import render_summary
from erdrill.reports.timeline import readable_title
from erdrill.targets.target import Target

__all__ = [
    "HISTORY_PATH",
    "GherkinScenario",
    "gherkin_scenario",
    "scenario_finished",
    "start",
    "terminal_summary",
]

HISTORY_PATH = history.DEFAULT_HISTORY
_RECORDS = pytest.StashKey[list[DrillRecord]]()
_PROBLEMS = pytest.StashKey[list[str]]()
_SECRETS = pytest.StashKey[list[str]]()
_ASSESSED = pytest.StashKey[dict[str, findings.Assessment]]()
_NAMES = pytest.StashKey[dict[str, str]]()  # run id -> the scenario's readable name
_SESSION = pytest.StashKey[tuple[str, dict[str, str]]]()  # target name, its description


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
        config.stash[_SESSION] = (str(target.name), described)
        run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        ar.write_results_metadata(results, str(target.name), run_id, described, secrets)
    except Exception as exc:
        _problem(config, f"writing Allure session files into {results}", exc)


def scenario_finished(config: pytest.Config, node: pytest.Item, drill: Drill) -> None:
    """Attach the drill's evidence to its Allure test, write it beside drill.json, keep history."""
    record: DrillRecord = drill.record
    secrets = config.stash.get(_SECRETS, [])
    config.stash.setdefault(_RECORDS, []).append(record)
    entries = _history_entries(config)
    assessment: findings.Assessment | None = None
    fresh: freshness.TargetFreshness | None = None
    try:
        assessment = findings.assess(record, entries)
        config.stash.setdefault(_ASSESSED, {})[record.run_id] = assessment
    except Exception as exc:
        _problem(config, f"assessing the findings of drill {record.run_id}", exc)
    try:
        fresh = freshness.of_target(record, _records(entries))
    except Exception as exc:
        _problem(config, f"drill freshness of {record.target}", exc)
    try:
        _attach(node, drill, record, secrets, assessment, fresh)
    except Exception as exc:
        _problem(config, f"attaching evidence of drill {record.run_id}", exc)
    try:
        extra = assessment.history_fields() if assessment is not None else None
        history.append(record, HISTORY_PATH, secrets, extra)
    except Exception as exc:
        _problem(config, f"appending drill {record.run_id} to {HISTORY_PATH}", exc)
    try:
        _seal(drill, record)
    except Exception as exc:
        _problem(config, f"sealing the evidence of drill {record.run_id}", exc)


def _history_entries(config: pytest.Config) -> list[dict[str, Any]]:
    """The drill history's lines without their chain fields ([] if it cannot be read)."""
    try:
        return [integrity.strip_chain(obj) for _, obj in history.read_lines(HISTORY_PATH)]
    except Exception as exc:
        _problem(config, f"reading the drill history {HISTORY_PATH}", exc)
        return []


def _records(entries: list[dict[str, Any]]) -> list[DrillRecord]:
    out = []
    for entry in entries:
        try:
            out.append(DrillRecord.model_validate(entry))
        except ValueError:
            continue  # `erdrill verify` names lines that are not drill records
    return out


def _seal(drill: Drill, record: DrillRecord) -> None:
    """Manifest, signatures and bundle once nothing more is written into the drill folder."""
    if record.verdict != "aborted":
        record.phase = Phase.DONE  # what Drill.close writes next: drill.json keeps these bytes
        drill.save()
    sealed = integrity.seal_drill(
        drill.run_dir, history=HISTORY_PATH, key=integrity.signing_key_path()
    )
    ar.attach_json(sealed.manifest.read_text(encoding="utf-8"), "evidence manifest")


def _attach(
    node: pytest.Item,
    drill: Drill,
    record: DrillRecord,
    secrets: list[str],
    assessment: findings.Assessment | None = None,
    fresh: freshness.TargetFreshness | None = None,
) -> None:
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
    scenario = gherkin_scenario(node)
    name = scenario.title if scenario else ""
    node.config.stash.setdefault(_NAMES, {})[record.run_id] = name
    intro = _scenario_description(node)
    ar.describe_html(drill_description_html(record, assessment, fresh, intro), secrets)
    run_dir: Path = drill.run_dir
    samples = list(getattr(drill, "samples", []) or [])
    files = evidence.write_evidence(run_dir, samples, record.route_snapshots, secrets)
    if assessment is not None:
        doc = assessment.to_dict() | {"freshness": fresh.to_dict() if fresh else None}
        write_atomic(run_dir / "findings.json", json.dumps(doc, indent=2) + "\n")
        files["findings"] = "findings.json"
        ar.attach_json(doc, "findings", secrets)
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
                name or record.scenario, record.target, record.fault, record.run_id
            ),
            outages={
                "failover": record.failover.outage_ms if record.failover else None,
                "failback": record.failback.outage_ms if record.failback else None,
            },
            sustain_s=drill.settings.sustain_s,
        )
        files["timeline"] = "timeline.png"
        ar.attach_samples(samples, secrets=secrets)
    if record.route_snapshots:
        ar.attach_routes(record.route_snapshots, secrets=secrets)
    if files:
        record.files.update(files)
        drill.save()
    ar.attach_record(record, drill.path, secrets)


@dataclass(frozen=True)
class GherkinScenario:
    """A scenario as the feature file names it (and the Allure report shows it)."""

    title: str  # the Gherkin title, an outline's <placeholders> filled from its row
    feature: str  # the feature file, relative as pytest-bdd reads it (features/x.feature)
    example: dict[str, str]  # the outline row's values ({} for a plain scenario)
    tags: list[str]  # the scenario's and its feature's tags, sorted


def gherkin_scenario(node: pytest.Item) -> GherkinScenario | None:
    """The pytest-bdd scenario behind a test item (None if it is not one)."""
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry

        function: Any = getattr(node, "function", None)
        template: Any = scenario_wrapper_template_registry[function]
    except Exception:
        return None
    callspec = getattr(node, "callspec", None)
    example = dict(callspec.params.get("_pytest_bdd_example", {})) if callspec else {}
    feature = template.feature
    return GherkinScenario(
        title=str(template.render(example).name),
        feature=os.path.normpath(str(feature.rel_filename)),
        example={str(k): str(v) for k, v in example.items()},
        tags=sorted({*template.tags, *feature.tags}),
    )


def _scenario_description(node: pytest.Item) -> str:
    """The Gherkin feature's and scenario's descriptions ('' if not pytest-bdd)."""
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry

        function: Any = getattr(node, "function", None)
        template: Any = scenario_wrapper_template_registry[function]
        texts = [template.feature.description, template.description]
        return "\n\n".join(str(t).strip() for t in texts if t and str(t).strip())
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
        terminalreporter.write(render_summary(records, width=_width(terminalreporter)))
        _write_findings(terminalreporter, config, records)
        _write_freshness(terminalreporter, config, records)
        terminalreporter.write_line(f"drill history: {HISTORY_PATH}")
        if _results_dir(config) is not None:
            terminalreporter.write_line("HTML report: erdrill report")
    for line in config.stash.get(_PROBLEMS, []):  # with those found while summarising
        _write(terminalreporter, f"erdrill: report problem: {line}", red=True)


def _width(terminalreporter: Any) -> int:
    """The terminal's width, at most 100 columns."""
    writer = getattr(terminalreporter, "_tw", None)
    return min(int(getattr(writer, "fullwidth", 100)), 100)


def _write(terminalreporter: Any, line: str, **markup: bool) -> None:
    """A line of the summary, wrapped to the summary's width (continued lines indented)."""
    lead = " " * (len(line) - len(line.lstrip()) + 2)
    for part in textwrap.wrap(line, _width(terminalreporter), subsequent_indent=lead) or [""]:
        terminalreporter.write_line(part, **markup)


def _write_findings(
    terminalreporter: Any, config: pytest.Config, records: list[DrillRecord]
) -> None:
    assessed = config.stash.get(_ASSESSED, {})
    lines = []
    for record in records:
        a = assessed.get(record.run_id)
        if a is None:
            continue
        for d in a.findings:
            lines.append(
                f"{record.run_id} {d.spec.id} [{d.spec.severity.value}, {d.status}] "
                f"{d.spec.title}: {d.spec.action}"
                + (f" (source: {d.spec.source})" if d.spec.source else "")
            )
        lines += [f"{record.run_id} {d.spec.id} fixed: {d.spec.title}" for d in a.fixed]
    if lines:
        terminalreporter.write_line("findings:")
        for line in lines:
            _write(terminalreporter, f"  {line}")


def _write_freshness(
    terminalreporter: Any, config: pytest.Config, records: list[DrillRecord]
) -> None:
    """The freshness of this run's targets from the history (this run's drills included),
    and how many other targets in the history are overdue."""
    try:
        known = _records(_history_entries(config))
        seen = {r.run_id for r in known}
        targets = freshness.freshness([*known, *(r for r in records if r.run_id not in seen)])
    except Exception as exc:
        _problem(config, "drill freshness", exc)
        return
    drilled = {findings.drilled_target(r) for r in records}
    mine = [f for f in targets if f.key in drilled]
    others = [f.label for f in targets if f.key not in drilled and f.overdue]
    terminalreporter.write_line("drill freshness:")
    for line in freshness.freshness_lines(mine):
        _write(terminalreporter, f"  {line}", red="OVERDUE" in line)
    if others:
        shown = "; ".join(others[:5]) + ("; ..." if len(others) > 5 else "")
        _write(
            terminalreporter,
            f"  {len(others)} other target(s) in the drill history are overdue: {shown}",
        )
    try:
        _front_page(config, records, mine)
    except Exception as exc:
        _problem(config, "writing the run summary into the Allure results", exc)


def _front_page(
    config: pytest.Config,
    records: list[DrillRecord],
    targets: list[freshness.TargetFreshness],
) -> None:
    """The run's summary on the report's front page: an attachment and environment entries."""
    results = _results_dir(config)
    if results is None or not results.is_dir():
        return
    secrets = config.stash.get(_SECRETS, [])
    assessed = config.stash.get(_ASSESSED, {})
    drills = [(r, assessed.get(r.run_id)) for r in records]
    ar.write_global_text(
        results,
        run_summary_text(drills, targets, config.stash.get(_NAMES, {})),
        "drill summary",
        secrets=secrets,
    )
    name, described = config.stash.get(_SESSION, ("", {}))
    if not name:
        return
    verdicts: dict[str, int] = {}
    for r in records:
        verdicts[str(r.verdict)] = verdicts.get(str(r.verdict), 0) + 1
    ids: dict[str, int] = {}
    for a in assessed.values():
        for i in a.ids:
            ids[i] = ids.get(i, 0) + 1
    overdue = [f.label for f in targets if f.overdue]
    days = targets[0].interval_days if targets else freshness.interval_days()
    lead = {
        "drills this run": f"{len(records)}: "
        + ", ".join(f"{n} {v}" for v, n in sorted(verdicts.items())),
        "findings this run": ", ".join(f"{i} x{n}" for i, n in sorted(ids.items())) or "none",
        f"targets overdue (interval {days:g} days)": "; ".join(overdue) or "none",
    }
    ar.write_environment(results, name, described, secrets, lead=lead)
