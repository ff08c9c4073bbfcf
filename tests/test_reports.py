"""Unit tests for the report library: evidence, history, categories, timeline, summary, secrets."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import allure_commons
import numpy as np
import pytest
from matplotlib import image as mpimg
from reportkit import allure_plugin

from erdrill.core.paths import PathKind
from erdrill.core.record import DrillRecord, TransitionFigures
from erdrill.core.routes import RouteEntry, RouteTable
from erdrill.probes.samples import Outcome, Protocol, Sample
from erdrill.reports import allure_results as ar
from erdrill.reports import build, categories, evidence, history, summary
from erdrill.reports.redact import REDACTED, redact, redact_data, register_secret
from erdrill.reports.timeline import plot_timeline

T0 = 1_700_000_000.0
PSK = "Vpn-PSK-9f8e7d6c5b4a-s3cret"
BEARER = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJkcmlsbCJ9.c2lnbmF0dXJlLXBhcnQ"
CLIENT_SECRET = "Qx8~client.secret_Zz41-abcdEFGH"
SECRETS = (PSK, BEARER, CLIENT_SECRET)


def make_samples(outage: tuple[float, float] = (1.0, 1.5), rtt_ms: float = 2.0) -> list[Sample]:
    """Two flows at 100 probes/s for 3 s, lost during `outage` (seconds after T0)."""
    out = []
    for target in ("10.1.1.4", "10.1.1.5"):
        for seq in range(300):
            sent = T0 + seq * 0.01
            if outage[0] <= sent - T0 < outage[1]:
                out.append(Sample(target, Protocol.ICMP, seq, sent, None, Outcome.LOST))
            else:
                recv = sent + rtt_ms / 1000.0
                out.append(Sample(target, Protocol.ICMP, seq, sent, recv, Outcome.REPLY, ttl=60))
    return out


EVENTS = [
    {"wall": T0 + 1.0, "kind": "fault", "detail": "provider link down"},
    {"wall": T0 + 1.5, "kind": "route", "detail": "10.1.0.0/16 via vpn"},
    {"wall": T0 + 2.5, "kind": "restore", "detail": "provider link up"},
]
SPANS = [(T0, T0 + 1.5, "expressroute"), (T0 + 1.5, T0 + 3.0, "vpn")]


def routes() -> dict[str, list[dict[str, Any]]]:
    table = RouteTable(
        owner="onprem-edge",
        side="onprem",
        taken_at=T0,
        entries=[
            RouteEntry("10.1.0.0/16", "172.16.0.2", PathKind.EXPRESSROUTE, "bgp", "12076 65515"),
            RouteEntry("10.1.0.0/16", "169.254.21.2", PathKind.VPN, "bgp", "65515", False),
        ],
    )
    return {"before": [table.to_dict()], "during": []}


def record(run_id: str = "r1", **extra: Any) -> DrillRecord:
    fields: dict[str, Any] = {
        "run_id": run_id,
        "target": "lab",
        "fault": "provider-link-down",
        "scenario": "Failover when the provider link goes down",
        "started_at": "2025-01-01T00:00:00Z",
        "verdict": "failed",
        "failure_category": "limit-exceeded",
        "sampling_interval_ms": 10.0,
        "limits": {"outage_ms": 1000.0, "failback_outage_ms": 3000.0},
        "failover": TransitionFigures(
            loss_derived_ms=2350,
            outage_ms=2351,
            first_route_ms=2300,
            sent=1000,
            lost=470,
            recovered=True,
        ),
        "failback": TransitionFigures(
            loss_derived_ms=4, outage_ms=5, sent=1000, lost=1, recovered=True
        ),
    }
    fields.update(extra)
    return DrillRecord(**fields)


# --- evidence ------------------------------------------------------------------------------


def test_samples_csv_has_one_row_per_probe_with_rtt_and_outcome() -> None:
    samples = make_samples()
    rows = list(csv.DictReader(io.StringIO(evidence.samples_csv(samples))))
    assert len(rows) == len(samples)
    assert tuple(rows[0]) == evidence.SAMPLE_COLUMNS
    assert rows[0]["target"] == "10.1.1.4" and rows[0]["protocol"] == "icmp"
    assert rows[0]["outcome"] == "reply" and float(rows[0]["rtt_ms"]) == pytest.approx(2.0)
    assert rows[0]["sent_utc"] == "2023-11-14T22:13:20.000000Z"
    lost = [r for r in rows if r["outcome"] == "lost"]
    assert len(lost) == 100 and all(r["received"] == "" and r["rtt_ms"] == "" for r in lost)


def test_route_snapshots_as_json_and_text() -> None:
    snaps = routes()
    assert json.loads(evidence.routes_json(snaps)) == snaps
    text = evidence.routes_text(snaps)
    assert "== before ==" in text and "== during ==" in text and "(no route tables)" in text
    assert "onprem-edge (onprem)" in text
    assert re.search(r"10\.1\.0\.0/16\s+172\.16\.0\.2\s+expressroute", text)
    assert "(inactive)" in text


def test_write_evidence_names_files_for_the_record(tmp_path: Path) -> None:
    files = evidence.write_evidence(tmp_path, make_samples(), routes())
    assert files == {"samples": "samples.csv", "routes": "routes.json", "routes_text": "routes.txt"}
    assert all((tmp_path / name).is_file() for name in files.values())


# --- history -------------------------------------------------------------------------------


def test_history_append_of_two_runs_gives_two_lines(tmp_path: Path) -> None:
    path = tmp_path / "history" / "drills.jsonl"
    history.append(record("r1"), path)
    history.append(record("r2", verdict="passed", failure_category=None), path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2
    assert [json.loads(line)["run_id"] for line in lines] == ["r1", "r2"]
    back = history.read(path)
    assert [r.run_id for r in back] == ["r1", "r2"]
    assert back[0].failover is not None and back[0].failover.outage_ms == 2351


def test_history_reports_the_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "drills.jsonl"
    history.append(record("r1"), path)
    with path.open("a") as f:
        f.write("{not json\n")
    with pytest.raises(history.HistoryError, match=r"drills\.jsonl:2: not JSON"):
        history.read(path)
    assert history.read(tmp_path / "missing.jsonl") == []


# --- categories and messages ---------------------------------------------------------------

EXAMPLES = [
    (
        "failed",
        "AssertionError: "
        + categories.limit_exceeded("failover outage", 2350, 1000)
        + "\nassert 2350.0 <= 1000.0",
        categories.CATEGORY_LIMIT_EXCEEDED,
    ),
    (
        "failed",
        "reports.allure_results.LimitExceeded: limit exceeded: loss 12 ms > limit 5 ms",
        categories.CATEGORY_LIMIT_EXCEEDED,
    ),
    (
        "failed",
        "AssertionError: " + categories.no_failover("10.1.1.4/icmp stayed on expressroute"),
        categories.CATEGORY_NO_FAILOVER,
    ),
    ("failed", "AssertionError: no failover within 30 s", categories.CATEGORY_NO_FAILOVER),
    (
        "broken",
        "core.errors.LabError: bird did not start in ns onprem-edge",
        categories.CATEGORY_HARNESS_ERROR,
    ),
    ("failed", "AssertionError: routes are asymmetric", categories.CATEGORY_HARNESS_ERROR),
    ("passed", "", None),
]


def test_message_builders_follow_the_conventions() -> None:
    msg = categories.limit_exceeded("failover outage", 2350.0, 1000.0, detail="flow 10.1.1.4/icmp")
    assert msg == "limit exceeded: failover outage 2350 ms > limit 1000 ms; flow 10.1.1.4/icmp"
    assert msg.startswith(categories.LIMIT_EXCEEDED_PREFIX)
    assert categories.no_failover("x").startswith(categories.NO_FAILOVER_PREFIX)
    assert isinstance(categories.LimitExceeded("m"), AssertionError)
    assert isinstance(categories.NoFailover("m"), AssertionError)


@pytest.mark.parametrize(("status", "message", "expected"), EXAMPLES)
def test_categories_json_classifies_example_messages(
    tmp_path: Path, status: str, message: str, expected: str | None
) -> None:
    cats = json.loads(categories.write_categories(tmp_path).read_text())
    found = None
    for cat in cats:  # Allure 2 semantics: first category whose status and full match fit
        regex = cat.get("messageRegex")
        if status in cat["matchedStatuses"] and (regex is None or re.fullmatch(regex, message)):
            found = cat["name"]
            break
    assert found == expected
    assert categories.classify(message, status) == expected


def test_categories_regexes_work_in_javascript_too(tmp_path: Path) -> None:
    """Allure 3 matches with JavaScript RegExp.test: the same examples must land the same."""
    node = shutil.which("node")
    assert node, "node is missing: run scripts/setup.sh"
    cats = categories.write_categories(tmp_path)
    script = """
const cats = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));
const cases = JSON.parse(process.argv[2]);
console.log(JSON.stringify(cases.map(([status, msg]) => {
  const c = cats.find(c => c.matchedStatuses.includes(status)
    && (c.messageRegex === undefined || new RegExp(c.messageRegex).test(msg)));
  return c ? c.name : null;
})));
"""
    cases = [[s, m] for s, m, _ in EXAMPLES]
    out = subprocess.run(
        [node, "-e", script, str(cats), json.dumps(cases)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == [e for _, _, e in EXAMPLES]


def test_failure_category_slugs_match_the_drill_record() -> None:
    assert categories.failure_category(EXAMPLES[0][1]) == "limit-exceeded"
    assert categories.failure_category(EXAMPLES[2][1]) == "no-failover"
    assert categories.failure_category("KeyError: 'x'", "broken") == "harness-error"
    assert categories.failure_category("", "passed") is None


# --- environment and executor --------------------------------------------------------------


def test_environment_properties_name_versions_and_host(tmp_path: Path) -> None:
    path = ar.write_environment(tmp_path, "lab", {"topology": "er-vpn basic"})
    props = dict(line.split("=", 1) for line in path.read_text().splitlines())
    for key in ("target", "erdrill", "bird", "strongswan", "azure-mgmt-network", "python", "host"):
        assert props.get(key), key
    assert props["target"] == "lab" and props["topology"] == "er-vpn basic"
    assert props["azure-mgmt-network"] == "33.1.0"
    assert re.match(r"\d+\.\d+", props["bird"]), props["bird"]  # setup installs bird2
    assert re.match(r"\d+\.\d+", props["strongswan"]), props["strongswan"]


def test_executor_names_ci_scheduler_or_person() -> None:
    gh = ar.executor_info(
        "r7",
        environ={
            "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": "org/erdrill",
            "GITHUB_RUN_ID": "99",
            "GITHUB_RUN_NUMBER": "12",
            "ERDRILL_SCHEDULE": "0 3 * * 1",
        },
    )
    assert gh["type"] == "github" and gh["buildOrder"] == 12
    assert gh["buildUrl"] == "https://github.com/org/erdrill/actions/runs/99"
    assert gh["schedule"] == "0 3 * * 1" and "schedule 0 3 * * 1" in gh["buildName"]
    assert gh["runId"] == "r7" and gh["host"]
    timer = ar.executor_info("r8", environ={"ERDRILL_SCHEDULER": "systemd:erdrill-drill.timer"})
    assert timer["type"] == "scheduler" and "erdrill-drill.timer" in timer["name"]
    manual = ar.executor_info("r9", environ={"ERDRILL_OPERATOR": "alice"})
    assert manual == manual | {"type": "manual", "name": "manual run by alice", "user": "alice"}


# --- attachments and labels through the allure module ---------------------------------------


class Recorder:
    """An allure_commons plugin that records what the helpers hand to Allure."""

    def __init__(self) -> None:
        self.attachments: list[tuple[str, bytes]] = []
        self.labels: list[tuple[str, str]] = []
        self.parameters: dict[str, Any] = {}
        self.links: list[tuple[str, str]] = []

    @allure_commons.hookimpl
    def attach_data(self, body: Any, name: str, attachment_type: Any, extension: Any) -> None:
        self.attachments.append((name, body if isinstance(body, bytes) else body.encode()))

    @allure_commons.hookimpl
    def attach_file(self, source: Any, name: str, attachment_type: Any, extension: Any) -> None:
        self.attachments.append((name, Path(source).read_bytes()))

    @allure_commons.hookimpl
    def add_label(self, label_type: Any, labels: Any) -> None:
        self.labels += [(_plain(label_type), _plain(v)) for v in labels]

    @allure_commons.hookimpl
    def add_parameter(self, name: str, value: Any, excluded: Any, mode: Any) -> None:
        self.parameters[name] = value

    @allure_commons.hookimpl
    def add_link(self, url: str, link_type: Any, name: str) -> None:
        self.links.append((url, name))


def _plain(value: Any) -> str:
    return str(getattr(value, "value", value))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with allure_plugin(Recorder()) as rec:
        yield rec


def test_describe_drill_labels_parameters_and_severity(recorder: Recorder) -> None:
    ar.describe_drill(
        target="lab",
        fault="provider-link-down",
        circuit="er-circuit-1",
        probe_rate=500,
        sampling_interval_ms=2.0,
        limits={"outage_ms": 1000.0},
        disruptive=True,
    )
    assert ("target", "lab") in recorder.labels
    assert ("fault", "provider-link-down") in recorder.labels
    assert ("circuit", "er-circuit-1") in recorder.labels
    assert ("severity", "critical") in recorder.labels
    assert recorder.parameters["probe rate (probes/s per flow)"] == 500
    assert recorder.parameters["sampling interval (ms)"] == 2.0
    assert recorder.parameters["limit outage_ms"] == 1000.0
    assert recorder.parameters["circuit"] == "er-circuit-1"
    ar.describe_drill(target="lab")
    assert recorder.labels[-1] == ("severity", "normal")


def test_attach_helpers_hand_over_timeline_samples_routes_and_record(
    recorder: Recorder, tmp_path: Path
) -> None:
    ar.attach_timeline(make_samples(), EVENTS, SPANS, tmp_path / "timeline.png")
    ar.attach_samples(make_samples())
    ar.attach_routes(routes())
    drill_json = tmp_path / "drill.json"
    drill_json.write_text(record().to_json())
    ar.attach_record(record(), drill_json)
    names = [n for n, _ in recorder.attachments]
    assert names == [
        "timeline",
        "probe samples",
        "route snapshots (json)",
        "route snapshots (table)",
        "drill record (drill.json)",
    ]
    assert recorder.attachments[0][1].startswith(b"\x89PNG\r\n\x1a\n")
    assert recorder.links == [(drill_json.resolve().as_uri(), "drill record r1")]


# --- timeline ------------------------------------------------------------------------------


def _pixels(path: Path) -> np.ndarray[Any, Any]:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    return np.asarray(mpimg.imread(path))


def test_timeline_is_a_real_plot_of_the_samples(tmp_path: Path) -> None:
    a = _pixels(plot_timeline(make_samples(), EVENTS, SPANS, tmp_path / "a.png"))
    again = _pixels(plot_timeline(make_samples(), EVENTS, SPANS, tmp_path / "again.png"))
    other = _pixels(
        plot_timeline(
            make_samples(outage=(0.2, 2.2), rtt_ms=9.0), EVENTS, SPANS, tmp_path / "b.png"
        )
    )
    assert a.ndim == 3 and a.shape[0] > 200 and a.shape[1] > 500
    assert np.array_equal(a, again)  # same samples, same picture
    assert a.shape == other.shape
    changed = np.mean(np.any(np.abs(a - other) > 0.05, axis=-1))
    assert changed > 0.005, f"only {changed:.4%} of pixels differ"
    # one row per flow: a third flow makes the figure taller
    extra = [*make_samples(), Sample("10.1.1.4", Protocol.TCP, 0, T0, T0 + 0.002, Outcome.REPLY)]
    taller = _pixels(plot_timeline(extra, EVENTS, SPANS, tmp_path / "c.png"))
    assert taller.shape[0] > a.shape[0]


def test_timeline_colours_the_path_in_use(tmp_path: Path) -> None:
    """Pixels inside the VPN span carry the VPN colour; nothing is drawn without spans."""
    with_spans = _pixels(plot_timeline(make_samples(), EVENTS, SPANS, tmp_path / "s.png"))
    without = _pixels(plot_timeline(make_samples(), EVENTS, [], tmp_path / "n.png"))
    vpn = np.array([0xFF, 0xE2, 0xB8]) / 255.0
    near = np.all(np.abs(with_spans[..., :3] - vpn) < 0.04, axis=-1).mean()
    near_without = np.all(np.abs(without[..., :3] - vpn) < 0.04, axis=-1).mean()
    assert near > 0.05 and near_without < 0.01


def test_timeline_without_samples_still_draws(tmp_path: Path) -> None:
    out = plot_timeline([], [], [], tmp_path / "empty.png")
    assert _pixels(out).shape[0] > 50


# --- summary -------------------------------------------------------------------------------


def test_summary_table_judges_figures_against_limits() -> None:
    aborted = DrillRecord(run_id="r2", target="lab", started_at="x", message="lab build failed")
    text = summary.render_summary([record(), aborted], width=140)
    assert "Failover when the provider link goes down" in text
    assert "2351 > 1000" in text and "limit exceeded" in text
    assert "5 <= 3000" in text and "within limits" in text
    assert "470/1000" in text and "failed: limit-exceeded" in text
    assert "lab build failed" in text and "aborted" in text
    assert "sampling interval 10 ms" in text
    assert summary.limit_for(record(), "failback", "outage_ms") == 3000.0
    assert summary.limit_for(record(), "failover", "outage_ms") == 1000.0
    assert summary.limit_for(record(), "failover", "first_route_ms") is None


def test_summary_marks_a_transition_that_never_recovered() -> None:
    rec = record(failback=None, failover=TransitionFigures(sent=100, lost=100, recovered=False))
    assert "not recovered" in summary.render_summary([rec])


# --- secrets -------------------------------------------------------------------------------


def test_redact_scrubs_literals_patterns_and_keys() -> None:
    text = (
        f"swanctl: secret = {PSK}\nAuthorization: Bearer {BEARER}\n"
        f'{{"client_secret": "{CLIENT_SECRET}"}}\nAZURE_CLIENT_SECRET={CLIENT_SECRET}'
    )
    clean = redact(text)
    assert not any(s in clean for s in SECRETS)
    assert clean.count(REDACTED) >= 4 and "swanctl: secret = " in clean
    assert redact(f"the key is {PSK}!", [PSK]) == f"the key is {REDACTED}!"
    assert redact_data({"psk": "short", "nested": [{"token": "abc"}], "ok": 1}) == {
        "psk": REDACTED,
        "nested": [{"token": REDACTED}],
        "ok": 1,
    }
    assert redact("limit exceeded: failover outage 2350 ms > limit 1000 ms").startswith(
        "limit exceeded: failover outage 2350"
    )


def test_no_secret_reaches_any_file_or_attachment(
    tmp_path: Path, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A VPN PSK, a bearer token and a client secret never leave through the report layer."""
    # the secrets reach the process the ways they do in a drill: environment and registration
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("ERDRILL_SCHEDULE", f"weekly token={BEARER}")
    register_secret(PSK)
    leaky = f"psk {PSK} bearer {BEARER} secret {CLIENT_SECRET}"
    samples = [Sample(leaky, Protocol.TCP, 1, T0, None, Outcome.LOST)]
    snaps = {
        "before": [
            {
                "owner": leaky,
                "side": "onprem",
                "taken_at": T0,
                "entries": [{"prefix": "10.0.0.0/8", "next_hop": PSK, "path": "vpn"}],
            }
        ]
    }
    rec = record(
        message=leaky,
        labels={"note": leaky, "client_secret": CLIENT_SECRET},
        route_snapshots=snaps,
        findings=[leaky],
    )

    results = tmp_path / "results"
    written = [
        *evidence.write_evidence(tmp_path / "run", samples, snaps).values(),
        ar.write_environment(results, "lab", {"psk": PSK, "note": leaky}),
        ar.write_executor(results, f"run-{BEARER}"),
        history.append(rec, tmp_path / "history" / "drills.jsonl"),
    ]
    ar.describe_drill(target=leaky, fault=leaky, limits={"outage_ms": 1.0})
    ar.attach_text(leaky, "text")
    ar.attach_csv(leaky, "csv")
    ar.attach_json({"psk": PSK, "detail": leaky}, "json")
    ar.attach_json(json.dumps({"detail": leaky}), "json text")
    ar.attach_samples(samples)
    ar.attach_routes(snaps)
    ar.attach_record(rec)
    # allure-pytest-bdd writes step parameters and messages itself: the build scrubs them
    (results / "abc-result.json").write_text(json.dumps({"statusDetails": {"message": leaky}}))
    assert build.scrub_results(results) >= 1

    blobs = [p.read_bytes() for p in written if isinstance(p, Path)]
    blobs += [
        (tmp_path / "run" / name).read_bytes()
        for name in ("samples.csv", "routes.json", "routes.txt")
    ]
    blobs += [p.read_bytes() for p in results.iterdir()]
    blobs += [body for _, body in recorder.attachments]
    blobs += [f"{k}={v}".encode() for k, v in recorder.parameters.items()]
    blobs += [f"{k}={v}".encode() for k, v in recorder.labels]
    assert len(blobs) > 15
    for blob in blobs:
        for secret in SECRETS:
            assert secret.encode() not in blob
    assert (
        history.read(tmp_path / "history" / "drills.jsonl")[0].labels["client_secret"] == REDACTED
    )


# --- build errors --------------------------------------------------------------------------


def test_build_names_missing_results(tmp_path: Path) -> None:
    with pytest.raises(build.NoResults, match="no Allure results folder"):
        build.build_report(tmp_path / "nothing", tmp_path / "r.html", tmp_path / "h.jsonl")
    (tmp_path / "empty").mkdir()
    with pytest.raises(build.NoResults, match=r"no test results \(\*-result.json\)"):
        build.build_report(tmp_path / "empty", tmp_path / "r.html", tmp_path / "h.jsonl")


def test_build_names_missing_node_and_allure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(build.AllureMissing, match="node not found"):
        build.find_allure(tmp_path)
    monkeypatch.undo()
    with pytest.raises(build.AllureMissing, match=r"run scripts/setup\.sh"):
        build.find_allure(tmp_path)
