"""Allure results for a drill: attachments, labels, environment, executor.

Attach helpers act on the current Allure test or step through the `allure` module; outside
an Allure session they do nothing, so the library works without pytest. Every text written
here passes through `reports.redact`. Failure categories live in `reports.categories`.
"""

from __future__ import annotations

import getpass
import importlib.metadata
import json
import os
import platform
import re
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import allure

from erdrill.core.files import write_atomic
from erdrill.core.record import DrillRecord
from erdrill.probes.samples import Sample
from erdrill.reports.categories import write_categories
from erdrill.reports.evidence import RouteSnapshots, routes_json, routes_text, samples_csv
from erdrill.reports.redact import redact, redact_data
from erdrill.reports.timeline import plot_timeline

__all__ = [
    "attach_csv",
    "attach_json",
    "attach_png",
    "attach_record",
    "attach_routes",
    "attach_samples",
    "attach_text",
    "attach_timeline",
    "describe_drill",
    "describe_html",
    "environment_properties",
    "executor_info",
    "link_record",
    "write_environment",
    "write_executor",
    "write_global_text",
    "write_results_metadata",
]

# --- attachments and dynamic metadata ------------------------------------------------------


def attach_png(source: Path | bytes, name: str) -> None:
    """Attach a PNG image (a file or its bytes)."""
    if isinstance(source, Path):
        allure.attach.file(  # type: ignore[no-untyped-call]
            str(source), name=name, attachment_type=allure.attachment_type.PNG
        )
    else:
        allure.attach(source, name=name, attachment_type=allure.attachment_type.PNG)


def attach_text(text: str, name: str, secrets: Iterable[str | None] | None = None) -> None:
    """Attach plain text, scrubbed."""
    allure.attach(redact(text, secrets), name=name, attachment_type=allure.attachment_type.TEXT)


def attach_csv(text: str, name: str, secrets: Iterable[str | None] | None = None) -> None:
    """Attach CSV text, scrubbed."""
    allure.attach(redact(text, secrets), name=name, attachment_type=allure.attachment_type.CSV)


def attach_json(data: Any, name: str, secrets: Iterable[str | None] | None = None) -> None:
    """Attach JSON: a string is scrubbed as text, anything else is scrubbed then serialised."""
    if isinstance(data, str):
        body = redact(data, secrets)
    else:
        body = json.dumps(redact_data(data, secrets), indent=2, default=str)
    allure.attach(body, name=name, attachment_type=allure.attachment_type.JSON)


def attach_samples(
    samples: Sequence[Sample],
    name: str = "probe samples",
    secrets: Iterable[str | None] | None = None,
) -> None:
    """Attach every probe sample as CSV (see `reports.evidence.SAMPLE_COLUMNS`)."""
    attach_csv(samples_csv(samples, secrets), name, secrets)


def attach_routes(
    snapshots: RouteSnapshots,
    name: str = "route snapshots",
    secrets: Iterable[str | None] | None = None,
) -> None:
    """Attach route snapshots (phase -> RouteTable dicts) as JSON and as a readable table."""
    attach_json(routes_json(snapshots, secrets), f"{name} (json)", secrets)
    attach_text(routes_text(snapshots, secrets), f"{name} (table)", secrets)


def attach_timeline(
    samples: Sequence[Sample],
    events: Sequence[Mapping[str, Any]],
    path_spans: Sequence[tuple[float, float, str]],
    out: Path,
    name: str = "timeline",
    title: str = "Drill timeline",
    outages: Mapping[str, float | None] | None = None,
    sustain_s: float = 1.0,
) -> Path:
    """Plot the timeline to `out` (see `reports.timeline.plot_timeline`), attach it, return it."""
    plot_timeline(
        samples, events, path_spans, out, title=title, outages=outages, sustain_s=sustain_s
    )
    attach_png(out, name)
    return out


def describe_drill(
    *,
    target: str,
    fault: str | None = None,
    topology: str | None = None,
    circuit: str | None = None,
    probe_rate: int | None = None,
    sampling_interval_ms: float | None = None,
    limits: Mapping[str, float] | None = None,
    disruptive: bool = False,
) -> None:
    """Label the current test: target, fault kind, topology or circuit, probe settings, limits.

    Labels (target, fault, topology, circuit) group and filter the report; parameters show
    the settings and limits. Parameters are excluded from Allure's history id so a changed
    limit does not break the trend. Disruptive scenarios get severity critical.
    """
    labels = {"target": target, "fault": fault, "topology": topology, "circuit": circuit}
    for key, value in labels.items():
        if value:
            allure.dynamic.label(key, redact(value))  # type: ignore[no-untyped-call]
    params: dict[str, Any] = {
        "target": target,
        "fault kind": fault,
        "topology": topology,
        "circuit": circuit,
        "probe rate (probes/s per flow)": probe_rate,
        "sampling interval (ms)": sampling_interval_ms,
    }
    for key, limit in sorted((limits or {}).items()):
        params[f"limit {key}"] = limit
    for key, value in params.items():
        if value is not None and value != "":
            shown = value if isinstance(value, int | float) else redact(str(value))
            allure.dynamic.parameter(key, shown, excluded=True)
    severity = allure.severity_level.CRITICAL if disruptive else allure.severity_level.NORMAL
    allure.dynamic.severity(severity)  # type: ignore[no-untyped-call]


def describe_html(body: str, secrets: Iterable[str | None] | None = None) -> None:
    """Set the current test's HTML description (scrubbed). Not part of Allure's history id."""
    allure.dynamic.description_html(redact(body, secrets))  # type: ignore[no-untyped-call]


def link_record(path: Path, name: str = "drill record") -> None:
    """Link the current test to the drill record file (file:// URI of its absolute path)."""
    allure.dynamic.link(path.resolve().as_uri(), name=name)  # type: ignore[no-untyped-call]


def attach_record(
    record: DrillRecord, path: Path | None = None, secrets: Iterable[str | None] | None = None
) -> None:
    """Attach the drill record as JSON (scrubbed) and link its file when `path` is given."""
    attach_json(record.model_dump(mode="json", by_alias=True), "drill record (drill.json)", secrets)
    if path is not None:
        link_record(path, f"drill record {record.run_id}")


# --- environment.properties and executor.json ---------------------------------------------


def environment_properties(
    target: str,
    extra: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    lead: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Versions and host for environment.properties: what ran the drill, against what.

    `lead` entries come first (the report's front page shows the first few)."""
    env = os.environ if environ is None else environ
    props = {
        **(lead or {}),
        "target": target,
        "erdrill": importlib.metadata.version("erdrill"),
        "bird": _bird_version(),
        "strongswan": _strongswan_version(),
        "azure-mgmt-network": _dist_version("azure-mgmt-network"),
        "allure-pytest-bdd": _dist_version("allure-pytest-bdd"),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "host": socket.gethostname(),
        "os": platform.platform(),
    }
    if env.get("ERDRILL_SCHEDULE"):
        props["schedule"] = env["ERDRILL_SCHEDULE"]
    props.update(extra or {})
    return props


def write_environment(
    results_dir: Path,
    target: str,
    extra: Mapping[str, str] | None = None,
    secrets: Iterable[str | None] | None = None,
    lead: Mapping[str, str] | None = None,
) -> Path:
    """Write environment.properties into the Allure results folder (scrubbed)."""
    props = environment_properties(target, extra, lead=lead)
    lines = [f"{_prop_key(k)}={_prop_value(v)}" for k, v in props.items()]
    return _write(results_dir / "environment.properties", "\n".join(lines) + "\n", secrets)


@dataclass(frozen=True)
class _Runner:
    """A CI system or scheduler: how to recognise it, what it is, its build number's name."""

    detect: Callable[[Mapping[str, str]], bool]
    describe: Callable[[Mapping[str, str]], dict[str, str]]
    order: str | None = None


def _github(env: Mapping[str, str]) -> dict[str, str]:
    server = env.get("GITHUB_SERVER_URL", "https://github.com")
    run = f"{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"
    return {
        "name": "GitHub Actions",
        "type": "github",
        "url": server,
        "buildUrl": f"{server}/{run}",
    }


_RUNNERS = (  # the first that matches names the run
    _Runner(lambda e: e.get("GITHUB_ACTIONS") == "true", _github, "GITHUB_RUN_NUMBER"),
    _Runner(
        lambda e: bool(e.get("GITLAB_CI")),
        lambda e: {
            "name": "GitLab CI",
            "type": "gitlab",
            "url": e.get("CI_SERVER_URL", ""),
            "buildUrl": e.get("CI_PIPELINE_URL", e.get("CI_JOB_URL", "")),
        },
        "CI_PIPELINE_IID",
    ),
    _Runner(
        lambda e: bool(e.get("JENKINS_URL")),
        lambda e: {
            "name": "Jenkins",
            "type": "jenkins",
            "url": e["JENKINS_URL"],
            "buildUrl": e.get("BUILD_URL", ""),
        },
        "BUILD_NUMBER",
    ),
    _Runner(
        lambda e: bool(e.get("TF_BUILD")),
        lambda e: {
            "name": "Azure Pipelines",
            "type": "azure",
            "url": e.get("SYSTEM_COLLECTIONURI", ""),
        },
        "BUILD_BUILDID",
    ),
    _Runner(
        lambda e: bool(e.get("ERDRILL_SCHEDULER")),
        lambda e: {"name": f"scheduler {e['ERDRILL_SCHEDULER']}", "type": "scheduler"},
    ),
    _Runner(
        lambda e: e.get("CI", "").lower() in ("true", "1", "yes"),
        lambda e: {"name": "CI", "type": "ci"},
    ),
    _Runner(
        lambda e: bool(e.get("INVOCATION_ID") and e.get("JOURNAL_STREAM")),
        lambda e: {"name": "systemd unit", "type": "systemd"},
    ),
)


def executor_info(
    run_id: str, report_url: str | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Who or what ran the drill: CI system, scheduler or a person, from the environment.

    Recognised: GitHub Actions, GitLab CI, Jenkins, Azure Pipelines, any ``CI=true``,
    ``ERDRILL_SCHEDULER`` (e.g. ``systemd:erdrill-drill.timer``), a systemd unit; otherwise a
    manual run. ``ERDRILL_SCHEDULE`` (e.g. a cron expression) is recorded when set.
    Keys beyond Allure's own (user, host, runId, schedule) stay in the file for auditors.
    """
    env = os.environ if environ is None else environ
    user = env.get("ERDRILL_OPERATOR") or env.get("SUDO_USER") or _user()
    host = socket.gethostname()
    info: dict[str, Any] = {
        "buildName": f"erdrill drill {run_id}",
        "reportName": "erdrill drill report",
    }
    runner = next((r for r in _RUNNERS if r.detect(env)), None)
    if runner is None:
        info |= {"name": f"manual run by {user}", "type": "manual"}
    else:
        info |= runner.describe(env)
    order = env.get(runner.order) if runner and runner.order else None
    if order and order.isdigit():
        info["buildOrder"] = int(order)
    if report_url:
        info["reportUrl"] = report_url
    schedule = env.get("ERDRILL_SCHEDULE")
    if schedule:
        info["buildName"] += f" (schedule {schedule})"
    info |= {"user": user, "host": host, "runId": run_id, "schedule": schedule}
    return info


def write_executor(
    results_dir: Path,
    run_id: str,
    report_url: str | None = None,
    secrets: Iterable[str | None] | None = None,
) -> Path:
    """Write executor.json into the Allure results folder (scrubbed)."""
    info = redact_data(executor_info(run_id, report_url), secrets)
    return _write(results_dir / "executor.json", json.dumps(info, indent=2) + "\n")


def write_global_text(
    results_dir: Path,
    text: str,
    name: str,
    stem: str = "erdrill-run-summary",
    secrets: Iterable[str | None] | None = None,
) -> Path:
    """Write a run-wide text attachment (``<stem>-attachment.txt``) and the
    ``<stem>-globals.json`` that names it: Allure 3 shows it on the report's front page.
    Written again under the same names, it replaces the previous one."""
    source = f"{stem}-attachment.txt"
    _write(results_dir / source, text, secrets)
    doc = {"attachments": [{"name": name, "type": "text/plain", "source": source}]}
    return _write(results_dir / f"{stem}-globals.json", json.dumps(doc, indent=2) + "\n")


def write_results_metadata(
    results_dir: Path,
    target: str,
    run_id: str,
    extra_environment: Mapping[str, str] | None = None,
    secrets: Iterable[str | None] | None = None,
) -> list[Path]:
    """Write environment.properties, executor.json and categories.json in one call."""
    return [
        write_environment(results_dir, target, extra_environment, secrets),
        write_executor(results_dir, run_id, secrets=secrets),
        write_categories(results_dir),
    ]


# --- helpers -------------------------------------------------------------------------------


def _write(path: Path, text: str, secrets: Iterable[str | None] | None = None) -> Path:
    write_atomic(path, redact(text, secrets))
    return path


def _prop_key(key: str) -> str:
    return re.sub(r"([=: \\#!])", r"\\\1", key)


def _prop_value(value: str) -> str:
    v = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return "\\" + v if v.startswith(" ") else v


def _run(argv: Sequence[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (proc.stdout + "\n" + proc.stderr).strip() or None


def _dpkg_version(*packages: str) -> str | None:
    for pkg in packages:
        out = _run(["dpkg-query", "-W", "-f=${Version}", pkg])
        if out and "no packages found" not in out.lower() and "\n" not in out:
            return f"{pkg} {out}"
    return None


def _bird_version() -> str:
    out = _run(["bird", "--version"])  # "BIRD version 2.0.12" on stderr
    if out:
        m = re.search(r"version\s+(\S+)", out)
        if m:
            return m.group(1)
    return _dpkg_version("bird2", "bird") or "not installed"


def _strongswan_version() -> str:
    # "strongSwan swanctl 5.9.8", or "strongSwan 5.9.8 swanctl" in the usage text it prints
    # when charon is not running
    out = _run(["swanctl", "--version"])
    if out:
        m = re.search(r"strongSwan\s+(?:swanctl\s+)?(\d+\.\d+[\w.+~-]*)", out)
        if m:
            return m.group(1)
    return _dpkg_version("strongswan-swanctl", "strongswan-charon") or "not installed"


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())
